# Regenerates metafor_cases.json (beside this script) from metafor and metadat.
# Run from this directory:  Rscript metafor_cases.R            (rewrites metafor_cases.json)
#                           Rscript metafor_cases.R out.json   (writes elsewhere, e.g. to compare)
# Made for R 4.2.2, metafor 3.8.1, metadat 1.2-0. Every case stores its inputs, so the tests need no R.
# Data sets: dat.bcg (log risk ratios), dat.normand1999 (SMD), dat.molloy2014 (Fisher's z),
# dat.raudenbush1985, dat.konstantopoulos2011, dat.hackshaw1998 (log odds ratios from the
# published odds ratios and their 95% limits).
suppressMessages({library(metafor); library(jsonlite)})

out_file <- if (length(commandArgs(TRUE))) commandArgs(TRUE)[1] else "metafor_cases.json"
num <- function(x) unname(as.numeric(x))
# one coefficient: a number; several: an array (as jsonlite's auto_unbox writes them)
coefs <- function(x) num(x)

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
normand <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                  data = dat.normand1999)
molloy <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
raud <- dat.raudenbush1985
raud$weeks_c <- ifelse(raud$weeks > 3, 3, raud$weeks)  # metafor's example: weeks capped at 3
konst <- dat.konstantopoulos2011
hack <- dat.hackshaw1998
hack_yi <- log(hack$or)
hack_vi <- ((log(hack$or.ub) - log(hack$or.lb)) / (2 * qnorm(0.975)))^2

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

# mods: a formula as text, e.g. "~ ablat + year"
rma_case <- function(name, yi, vi, method, test = "z", mods = NULL, moddata = NULL) {
  dat <- data.frame(yi = num(yi), vi = num(vi))
  if (!is.null(moddata)) dat <- cbind(dat, moddata)
  res <- if (is.null(mods)) rma(yi, vi, data = dat, method = method, test = test)
         else rma(yi, vi, mods = as.formula(mods), data = dat, method = method, test = test)
  ex <- list(beta = coefs(res$beta), se = coefs(res$se), ci_lb = coefs(res$ci.lb), ci_ub = coefs(res$ci.ub),
             stat = coefs(res$zval), pval = coefs(res$pval), tau2 = res$tau2,
             se_tau2 = if (method == "FE") NULL else res$se.tau2,
             I2 = res$I2, H2 = res$H2, QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp,
             k = res$k, coef_names = rownames(res$beta))
  if (!is.null(mods)) ex$R2 <- if (is.null(res$R2)) 0 else res$R2
  if (test != "z") ex$dfs <- res$ddf[1]
  if (is.null(mods) && method != "FE") {
    pr <- predict(res)
    ex$pi_lb <- pr$pi.lb; ex$pi_ub <- pr$pi.ub
    ci <- confint(res)$random
    ex$tau2_ci <- num(ci["tau^2", c("ci.lb", "ci.ub")])
    ex$I2_ci <- num(ci["I^2(%)", c("ci.lb", "ci.ub")])
  }
  list(name = name, kind = "rma", method = method, test = test,
       mods = mods,
       input = as.list(dat), expect = ex)
}

## rma.uni: three data sets x nine tau2 estimators (z tests)
sets <- list(bcg_logrr = bcg, normand_smd = normand, molloy_zcor = molloy)
for (method in c("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"))
  for (s in names(sets))
    add(rma_case(sprintf("%s_%s", s, method), sets[[s]]$yi, sets[[s]]$vi, method))

## Knapp-Hartung and its modification (never narrower than z)
add(rma_case("bcg_logrr_REML_knha", bcg$yi, bcg$vi, "REML", "knha"))
add(rma_case("bcg_logrr_DL_knha", bcg$yi, bcg$vi, "DL", "knha"))
add(rma_case("bcg_logrr_REML_adhoc", bcg$yi, bcg$vi, "REML", "adhoc"))
add(rma_case("normand_smd_REML_adhoc", normand$yi[1:4], normand$vi[1:4], "REML", "adhoc"))

## meta-regressions
add(rma_case("bcg_metareg_ablat_REML", bcg$yi, bcg$vi, "REML", mods = "~ ablat",
             moddata = data.frame(ablat = bcg$ablat)))
add(rma_case("bcg_metareg_ablat_year_REML_knha", bcg$yi, bcg$vi, "REML", "knha", mods = "~ ablat + year",
             moddata = data.frame(ablat = bcg$ablat, year = bcg$year)))
add(rma_case("bcg_subgroup_alloc_FE", bcg$yi, bcg$vi, "FE", mods = "~ factor(alloc)",
             moddata = data.frame(alloc = bcg$alloc)))
add(rma_case("raudenbush_metareg_weeks_REML", raud$yi, raud$vi, "REML", mods = "~ weeks_c",
             moddata = data.frame(weeks_c = raud$weeks_c)))

## escalc
esc_case <- function(name, measure, input) {
  es <- do.call(escalc, c(list(measure = measure), input))
  list(name = name, kind = "escalc", measure = measure, input = input,
       expect = list(yi = num(es$yi), vi = num(es$vi)))
}
two_by_two <- with(dat.bcg, list(ai = tpos, bi = tneg, ci = cpos, di = cneg))
means <- with(dat.normand1999, list(m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i))
cors <- with(dat.molloy2014, list(ri = ri, ni = ni))
for (m in c("RR", "OR", "RD")) add(esc_case(paste0("bcg_escalc_", m), m, two_by_two))
for (m in c("SMD", "MD", "ROM")) add(esc_case(paste0("normand_escalc_", m), m, means))
for (m in c("COR", "ZCOR")) add(esc_case(paste0("molloy_escalc_", m), m, cors))

## three-level model (schools within districts)
kin <- list(yi = konst$yi, vi = konst$vi, study = as.character(konst$district), id = as.character(konst$school))
res <- rma.mv(yi, vi, random = ~ 1 | district/school, data = konst, method = "REML")
add(list(name = "konstantopoulos_3level_REML", kind = "rma.mv", method = "REML", random = "~1|district/school",
         input = kin,
         expect = list(beta = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
                       sigma2 = num(res$sigma2), QE = res$QE, logLik = as.numeric(logLik(res)))))

## publication bias: Egger's test on a REML fit, trim-and-fill on an FE fit
reg <- regtest(rma(hack_yi, hack_vi, method = "REML"))
tf <- trimfill(rma(hack_yi, hack_vi, method = "FE"))
add(list(name = "hackshaw_bias", kind = "bias", input = list(yi = hack_yi, vi = hack_vi),
         expect = list(egger_z = reg$zval, egger_p = reg$pval, trimfill_k0 = tf$k0, trimfill_side = tf$side,
                       trimfill_beta = num(tf$beta), trimfill_se = num(tf$se))))

meta <- list(source = sprintf("R %s.%s metafor %s metadat %s", R.version$major, R.version$minor,
                              packageVersion("metafor"), packageVersion("metadat")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  null = "null", na = "null"), out_file)
cat("wrote", out_file, "with", length(cases), "cases\n")
