# Regenerates metafor_cases_v2.json (beside this script) from metafor and metadat.
# Run from this directory:  Rscript metafor_cases_v2.R            (rewrites metafor_cases_v2.json)
#                           Rscript metafor_cases_v2.R out.json   (writes elsewhere, e.g. to compare)
# Made for R 4.2.2, metafor 3.8.1, metadat 1.2-0. Every case stores its inputs, so the tests need no R.
# Kinds: selmodel, petpeese, fsn, hc, influence, cumul, anova, predict, mh, rma.mv.confint, rma
# (see the README one folder up).
suppressMessages({library(metafor); library(jsonlite)})

out_file <- if (length(commandArgs(TRUE))) commandArgs(TRUE)[1] else "metafor_cases_v2.json"
num <- function(x) unname(as.numeric(x))

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
lehmann <- dat.lehmann2018
hack <- dat.hackshaw1998
hack_yi <- log(hack$or)  # log odds ratios from the published odds ratios and 95% limits
hack_vi <- ((log(hack$or.ub) - log(hack$or.lb)) / (2 * qnorm(0.975)))^2
konst <- dat.konstantopoulos2011

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

## selection models on an ML fit
sel_case <- function(name, yi, vi, type, steps = NULL, alternative = "greater") {
  res <- rma(yi, vi, method = "ML")
  sel <- if (is.null(steps)) selmodel(res, type = type, alternative = alternative, verbose = FALSE)
         else selmodel(res, type = type, steps = steps, alternative = alternative, verbose = FALSE)
  se_delta <- num(sel$se.delta)
  if (type == "stepfun") se_delta[1] <- NA  # the first weight is fixed at 1
  list(name = name, kind = "selmodel", type = type, steps = steps, method = "ML", alternative = alternative,
       input = list(yi = num(yi), vi = num(vi)),
       expect = list(beta = num(sel$beta), se = num(sel$se), ci_lb = num(sel$ci.lb), ci_ub = num(sel$ci.ub),
                     tau2 = sel$tau2, delta = num(sel$delta), se_delta = se_delta,
                     LRT = sel$LRT, LRTp = sel$LRTp, LRTdf = sel$LRTdf, ll = as.numeric(logLik(sel)),
                     k_per_interval = if (type == "stepfun") num(sel$ptable$k) else NULL))
}
add(sel_case("lehmann_selmodel_stepfun4", lehmann$yi, lehmann$vi, "stepfun", c(0.025, 0.05, 0.5, 1)))
add(sel_case("lehmann_selmodel_stepfun1", lehmann$yi, lehmann$vi, "stepfun", c(0.025, 1)))
for (type in c("beta", "halfnorm", "negexp", "logistic", "power"))
  add(sel_case(paste0("lehmann_selmodel_", type), lehmann$yi, lehmann$vi, type))
add(sel_case("hackshaw_selmodel_stepfun2", hack_yi, hack_vi, "stepfun", c(0.05, 1)))
add(sel_case("hackshaw_selmodel_beta", hack_yi, hack_vi, "beta"))

## PET and PEESE: FE meta-regressions on the standard error and the variance
pet <- rma(yi, vi, mods = ~ sqrt(vi), data = lehmann, method = "FE")
peese <- rma(yi, vi, mods = ~ vi, data = lehmann, method = "FE")
add(list(name = "lehmann_petpeese", kind = "petpeese", input = list(yi = num(lehmann$yi), vi = num(lehmann$vi)),
         expect = list(pet_beta = num(pet$beta), pet_se = num(pet$se), pet_pval = num(pet$pval),
                       peese_beta = num(peese$beta), peese_se = num(peese$se), peese_pval = num(peese$pval))))

## fail-safe N (Orwin's target: metafor's default, half the FE estimate)
fr <- fsn(hack_yi, hack_vi, type = "Rosenthal")
fo <- fsn(hack_yi, hack_vi, type = "Orwin")
fb <- fsn(hack_yi, hack_vi, type = "Rosenberg")
add(list(name = "hackshaw_fsn", kind = "fsn", input = list(yi = hack_yi, vi = hack_vi),
         expect = list(rosenthal = fr$fsnum, orwin = fo$fsnum, rosenberg = fb$fsnum, orwin_target = fo$target,
                       rosenberg_pval = fb$pval)))

## Henmi & Copas on a DL fit
h <- hc(rma(hack_yi, hack_vi, method = "DL"))
add(list(name = "hackshaw_hc", kind = "hc", input = list(yi = hack_yi, vi = hack_vi),
         expect = list(beta = h$beta, se = h$se, ci_lb = h$ci.lb, ci_ub = h$ci.ub, tau2 = h$tau2)))

## influence diagnostics and leave-one-out
res <- rma(yi, vi, data = bcg, method = "REML")
inf <- influence(res)$inf
l1o <- leave1out(res)
add(list(name = "bcg_influence_REML", kind = "influence", method = "REML",
         input = list(yi = num(bcg$yi), vi = num(bcg$vi)),
         expect = list(rstudent = num(inf$rstudent), dffits = num(inf$dffits), cook_d = num(inf$cook.d),
                       cov_r = num(inf$cov.r), tau2_del = num(inf$tau2.del), QE_del = num(inf$QE.del),
                       hat = num(inf$hat), weight = num(inf$weight), dfbetas = num(influence(res)$dfbs$intrcpt),
                       l1o_estimate = num(l1o$estimate), l1o_se = num(l1o$se), l1o_ci_lb = num(l1o$ci.lb),
                       l1o_ci_ub = num(l1o$ci.ub), l1o_tau2 = num(l1o$tau2), l1o_I2 = num(l1o$I2),
                       l1o_Q = num(l1o$Q))))

## cumulative meta-analysis by publication year
cu <- cumul(res, order = bcg$year)
add(list(name = "bcg_cumul_year", kind = "cumul", method = "REML", order = "year",
         input = list(yi = num(bcg$yi), vi = num(bcg$vi), year = num(bcg$year)),
         expect = list(estimate = num(cu$estimate), se = num(cu$se), ci_lb = num(cu$ci.lb), ci_ub = num(cu$ci.ub),
                       tau2 = num(cu$tau2), I2 = num(cu$I2))))

## likelihood-ratio test of an ML meta-regression
full <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "ML")
reduced <- rma(yi, vi, data = bcg, method = "ML")
av <- anova(full, reduced)
add(list(name = "bcg_anova_ablat", kind = "anova", mods = "~ ablat",
         input = list(yi = num(bcg$yi), vi = num(bcg$vi), ablat = num(bcg$ablat)),
         expect = list(LRT = av$LRT, pval = av$pval, AIC_full = fitstats(full)["AIC:", 1],
                       AIC_reduced = fitstats(reduced)["AIC:", 1], BIC_full = fitstats(full)["BIC:", 1],
                       logLik_full = as.numeric(logLik(full)), logLik_reduced = as.numeric(logLik(reduced)),
                       R2 = av$R2)))

## predictions of a REML meta-regression; BLUPs of the intercept-only REML fit
mr <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "REML")
pr <- predict(mr, newmods = c(10, 30, 50))
bl <- blup(res)
add(list(name = "bcg_predict_ablat", kind = "predict", mods = "~ ablat", newmods = c(10, 30, 50),
         input = list(yi = num(bcg$yi), vi = num(bcg$vi), ablat = num(bcg$ablat)),
         expect = list(pred = num(pr$pred), se = num(pr$se), ci_lb = num(pr$ci.lb), ci_ub = num(pr$ci.ub),
                       pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), blup_pred = num(bl$pred),
                       blup_se = num(bl$se), blup_pi_lb = num(bl$pi.lb), blup_pi_ub = num(bl$pi.ub))))

## Mantel-Haenszel and Peto
tab <- with(dat.bcg, list(ai = tpos, bi = tneg, ci = cpos, di = cneg))
mh <- rma.mh(ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di, measure = "OR")
pe <- rma.peto(ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di)
# CMH/CMHp: read as mh$CMH, a field metafor 3.8.1 does not have (its Cochran-Mantel-Haenszel
# test is mh$CO, mh$COp), so they are empty, as in the committed file.
add(list(name = "bcg_mh_OR", kind = "mh", measure = "OR", input = tab,
         expect = list(beta = mh$beta, se = mh$se, ci_lb = mh$ci.lb, ci_ub = mh$ci.ub, QE = mh$QE, QEp = mh$QEp,
                       I2 = mh$I2, peto_beta = pe$beta, peto_se = pe$se, peto_QE = pe$QE,
                       CMH = num(mh$CMH), CMHp = num(mh$CMHp))))
mh <- rma.mh(ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di, measure = "RR")
add(list(name = "bcg_mh_RR", kind = "mh", measure = "RR", input = tab,
         expect = list(beta = mh$beta, se = mh$se, ci_lb = mh$ci.lb, ci_ub = mh$ci.ub, QE = mh$QE, QEp = mh$QEp,
                       I2 = mh$I2)))

## profile-likelihood intervals of a three-level model's variance components
mv <- rma.mv(yi, vi, random = ~ 1 | district/school, data = konst, method = "REML")
ci1 <- confint(mv, sigma2 = 1)$random
ci2 <- confint(mv, sigma2 = 2)$random
add(list(name = "konstantopoulos_confint", kind = "rma.mv.confint",
         input = list(yi = konst$yi, vi = konst$vi, study = as.character(konst$district),
                      id = as.character(konst$school)),
         expect = list(sigma2 = num(mv$sigma2), sigma2_1_ci = num(ci1["sigma^2.1", c("ci.lb", "ci.ub")]),
                       sigma2_2_ci = num(ci2["sigma^2.2", c("ci.lb", "ci.ub")]))))

## regressions from bug reports
k1 <- suppressWarnings(rma(0.4, 0.01, method = "REML", test = "knha"))  # metafor falls back to z
add(list(name = "k1_knha", kind = "rma", method = "REML", test = "knha", input = list(yi = 0.4, vi = 0.01),
         expect = list(beta = num(k1$beta), se = k1$se, ci_lb = k1$ci.lb, ci_ub = k1$ci.ub, pval = k1$pval,
                       tau2 = k1$tau2)))
pm <- rma(c(120, 310, -50, 260, 30, 180, 95), c(400, 900, 625, 1600, 500, 750, 820), method = "PM")
add(list(name = "pm_large_tau2", kind = "rma", method = "PM", test = "z",
         input = list(yi = c(120, 310, -50, 260, 30, 180, 95), vi = c(400, 900, 625, 1600, 500, 750, 820)),
         expect = list(beta = num(pm$beta), se = pm$se, ci_lb = pm$ci.lb, ci_ub = pm$ci.ub, pval = pm$pval,
                       tau2 = pm$tau2)))

meta <- list(made = format(Sys.Date()), R = R.version.string, metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  null = "null", na = "null"), out_file)
cat("wrote", out_file, "with", length(cases), "cases\n")
