# Reference values for bayesma's frequentist toolbox (issue 13): influence diagnostics of
# meta-regressions, leave1out / cumul variants, fit statistics, Wald tests, BLUPs and random
# effects, predictions with transf, Mantel-Haenszel / Peto with the CMH, Breslow-Day and Tarone
# tests and with zero cells, rates (IRR, IRD), Baujat coordinates and profile-likelihood
# intervals of rma.mv.
# Run from the repository root:  Rscript tests/data/reference/metafor/metafor_toolbox.R
# Writes tests/data/reference/metafor/metafor_toolbox.json.  Needs metafor, metadat, jsonlite.

suppressMessages({library(metafor); library(metadat); library(jsonlite)})

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x
num <- function(x) unname(as.numeric(x))

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_in <- list(yi = num(bcg$yi), vi = num(bcg$vi), ablat = num(bcg$ablat), year = num(bcg$year),
               alloc = as.character(bcg$alloc))
hack <- dat.hackshaw1998
hack_in <- list(yi = num(hack$yi), vi = num(hack$vi), year = num(hack$year))
mol <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
mol_in <- list(yi = num(mol$yi), vi = num(mol$vi), meanage = num(mol$meanage))

infl_case <- function(name, res, input, method, test, mods) {
  inf <- influence(res)
  out <- list(rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cook_d = num(inf$inf$cook.d),
              cov_r = num(inf$inf$cov.r), tau2_del = num(inf$inf$tau2.del), QE_del = num(inf$inf$QE.del),
              hat = num(inf$inf$hat), weight = num(inf$inf$weight), inf = as.logical(inf$is.infl))
  dfb <- as.data.frame(unclass(inf$dfbs)[seq_len(res$p)])
  out$dfbetas <- lapply(seq_len(ncol(dfb)), function(j) num(dfb[[j]]))
  pdf(NULL); bj <- baujat(res); dev.off()
  out$baujat_x <- num(bj$x); out$baujat_y <- num(bj$y)
  add(list(name = name, kind = "influence", method = method, test = test, mods = mods, input = input,
           expect = out))
}

infl_case("bcg_infl_mods_knha", rma(yi, vi, mods = ~ ablat + year, data = bcg, test = "knha"), bcg_in,
          "REML", "knha", "~ ablat + year")
infl_case("hackshaw_infl_FE", rma(yi, vi, data = hack, method = "FE"), hack_in, "FE", "z", NULL)
infl_case("molloy_infl_DL_mods", rma(yi, vi, mods = ~ meanage, data = mol, method = "DL"), mol_in, "DL", "z",
          "~ meanage")

steps <- function(x) {
  list(estimate = num(x$estimate), se = num(x$se), pval = num(if (!is.null(x$pval)) x$pval else x$pvals),
       ci_lb = num(x$ci.lb), ci_ub = num(x$ci.ub), Q = num(x$Q), Qp = num(x$Qp),
       tau2 = if (is.null(x$tau2)) NULL else num(x$tau2), I2 = num(x$I2), H2 = num(x$H2))
}
res <- rma(yi, vi, data = hack, method = "DL", test = "knha")
add(list(name = "hackshaw_l1o_DL_knha", kind = "leave1out", method = "DL", test = "knha", input = hack_in,
         expect = steps(leave1out(res))))
res <- rma(yi, vi, data = hack, method = "FE")
add(list(name = "hackshaw_cumul_FE_exp", kind = "cumul", method = "FE", test = "z", order = "year", transf = "exp",
         input = hack_in, expect = steps(cumul(res, order = hack$year, transf = exp))))
res <- rma(yi, vi, data = mol, method = "PM")
add(list(name = "molloy_cumul_PM_decreasing", kind = "cumul", method = "PM", test = "z", order = "meanage",
         decreasing = TRUE, input = mol_in, expect = steps(cumul(res, order = mol$meanage, decreasing = TRUE))))

res <- rma(yi, vi, data = bcg, test = "knha")
add(list(name = "bcg_cumul_REML_knha", kind = "cumul", method = "REML", test = "knha", order = "year",
         input = bcg_in, expect = steps(cumul(res, order = bcg$year))))
res <- rma(yi, vi, data = mol, method = "PM")
add(list(name = "molloy_l1o_PM", kind = "leave1out", method = "PM", test = "z", input = mol_in,
         expect = steps(leave1out(res))))
infl_case("bcg_infl_tau2_fixed", rma(yi, vi, data = bcg, tau2 = 0.1), bcg_in, "REML", "z", NULL)
cases[[length(cases)]]$tau2 <- 0.1

# fit statistics, Wald tests, blup / ranef, predict with transf
res <- rma(yi, vi, mods = ~ ablat + factor(alloc), data = bcg)
fs <- res$fit.stats
wald <- anova(res, btt = 3:4)
L <- rbind(c(1, 30, 0, 0), c(1, 30, 1, 0))
lc <- anova(res, X = L)
bl <- blup(res); re <- ranef(res)
add(list(name = "bcg_fitstats_wald_blup", kind = "fitstats", method = "REML", test = "z",
         mods = "~ ablat + factor(alloc)", input = bcg_in,
         expect = list(ll_ML = fs["ll", "ML"], dev_ML = fs["dev", "ML"], AIC_ML = fs["AIC", "ML"],
                       BIC_ML = fs["BIC", "ML"], AICc_ML = fs["AICc", "ML"], ll_REML = fs["ll", "REML"],
                       dev_REML = fs["dev", "REML"], AIC_REML = fs["AIC", "REML"], BIC_REML = fs["BIC", "REML"],
                       AICc_REML = fs["AICc", "REML"], wald_btt = c(3, 4), wald_QM = num(wald$QM),
                       wald_QMp = num(wald$QMp), lincomb_X = L, lincomb_est = num(lc$Xb), lincomb_se = num(lc$se),
                       lincomb_pval = num(lc$pval), lincomb_QM = num(lc$QM),
                       blup_pred = num(bl$pred), blup_se = num(bl$se), blup_pi_lb = num(bl$pi.lb),
                       blup_pi_ub = num(bl$pi.ub), ranef_pred = num(re$pred), ranef_se = num(re$se),
                       ranef_pi_lb = num(re$pi.lb), ranef_pi_ub = num(re$pi.ub))))
res <- rma(yi, vi, mods = ~ ablat, data = bcg, test = "knha")
pr <- predict(res, newmods = c(10, 30, 50), transf = exp)
re <- ranef(res, transf = exp)
add(list(name = "bcg_predict_knha_exp", kind = "predict", method = "REML", test = "knha", mods = "~ ablat",
         newmods = c(10, 30, 50), transf = "exp", input = bcg_in,
         expect = list(pred = num(pr$pred), ci_lb = num(pr$ci.lb), ci_ub = num(pr$ci.ub), pi_lb = num(pr$pi.lb),
                       pi_ub = num(pr$pi.ub), ranef_pred = num(re$pred), ranef_pi_lb = num(re$pi.lb),
                       ranef_pi_ub = num(re$pi.ub))))
full <- rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "FE")
red <- rma(yi, vi, mods = ~ ablat, data = bcg, method = "FE")
a <- anova(full, red)
add(list(name = "bcg_anova_FE", kind = "anova", method = "FE", mods = "~ ablat + year", mods_reduced = "~ ablat",
         input = bcg_in, expect = list(LRT = a$LRT, pval = a$pval, R2 = a$R2, AIC_full = a$fit.stats.f[["AIC"]],
                                       AIC_reduced = a$fit.stats.r[["AIC"]])))

# Mantel-Haenszel and Peto
mh_case <- function(name, measure, tab, ...) {
  r <- rma.mh(ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di, measure = measure, ...)
  out <- list(beta = num(r$beta), se = num(r$se), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), QE = r$QE,
              QEp = r$QEp, I2 = r$I2, k_yi = r$k.yi, ll_ML = r$fit.stats["ll", "ML"], ll_REML = r$fit.stats["ll", "REML"])
  if (measure == "OR") out <- c(out, list(MH = r$MH, MHp = r$MHp, CO = r$CO, BD = r$BD, BDp = r$BDp, TA = r$TA,
                                          TAp = r$TAp))
  pt <- if (measure == "OR") rma.peto(ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di, ...) else NULL
  if (!is.null(pt)) out <- c(out, list(peto_beta = num(pt$beta), peto_se = num(pt$se), peto_QE = pt$QE,
                                       peto_QEp = pt$QEp, peto_I2 = pt$I2))
  add(list(name = name, kind = "mh", measure = measure, options = list(...), input = tab, expect = out))
}
bcg_tab <- list(ai = dat.bcg$tpos, bi = dat.bcg$tneg, ci = dat.bcg$cpos, di = dat.bcg$cneg)
mh_case("bcg_mh_OR_tests", "OR", bcg_tab)
mh_case("bcg_mh_RD", "RD", bcg_tab)
zero <- list(ai = c(0, 3, 0, 12, 5, 0), bi = c(20, 47, 35, 88, 45, 60), ci = c(2, 0, 0, 20, 9, 4),
             di = c(18, 50, 35, 80, 41, 56))
mh_case("zero_cells_OR", "OR", zero)
mh_case("zero_cells_OR_keep00_all", "OR", zero, drop00 = FALSE, to = "all")
mh_case("zero_cells_RR", "RR", zero)
mh_case("zero_cells_RD_add_second", "RD", zero, add = c(0.5, 0.5), to = c("only0", "only0"))
add(list(name = "bcg_mh_OR_leave1out", kind = "mh_steps", which = "leave1out", method = "MH", measure = "OR",
         input = bcg_tab, expect = steps(leave1out(rma.mh(ai = bcg_tab$ai, bi = bcg_tab$bi, ci = bcg_tab$ci,
                                                           di = bcg_tab$di)))))
add(list(name = "zero_mh_RR_cumul", kind = "mh_steps", which = "cumul", method = "MH", measure = "RR",
         order = c(3, 1, 6, 2, 5, 4), input = zero,
         expect = steps(cumul(rma.mh(ai = zero$ai, bi = zero$bi, ci = zero$ci, di = zero$di, measure = "RR"),
                              order = c(3, 1, 6, 2, 5, 4)))))
add(list(name = "zero_peto_cumul", kind = "mh_steps", which = "cumul", method = "Peto", measure = "OR",
         order = c(3, 1, 6, 2, 5, 4), input = zero,
         expect = steps(cumul(rma.peto(ai = zero$ai, bi = zero$bi, ci = zero$ci, di = zero$di),
                              order = c(3, 1, 6, 2, 5, 4)))))
nw <- dat.nielweise2008
rate_in <- list(x1i = nw$x1i, t1i = nw$t1i, x2i = nw$x2i, t2i = nw$t2i)
for (m in c("IRR", "IRD")) {
  r <- rma.mh(x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = nw, measure = m)
  add(list(name = paste0("nielweise_mh_", m), kind = "mh_rates", measure = m, input = rate_in,
           expect = list(beta = num(r$beta), se = num(r$se), QE = r$QE, QEp = r$QEp, I2 = r$I2,
                         MH = if (is.na(r$MH)) NULL else r$MH, MHp = if (is.na(r$MHp)) NULL else r$MHp)))
}

# profile-likelihood intervals of rma.mv
ko <- dat.konstantopoulos2011
ko_in <- list(yi = num(ko$yi), vi = num(ko$vi), district = as.character(ko$district),
              school = as.character(ko$school), year = num(ko$year))
for (spec in list(list(method = "ML", mods = NULL), list(method = "REML", mods = "~ year"))) {
  if (is.null(spec$mods)) {
    r <- rma.mv(yi, vi, random = ~ 1 | district/school, data = ko, method = spec$method)
  } else {
    r <- rma.mv(yi, vi, mods = ~ year, random = ~ 1 | district/school, data = ko, method = spec$method)
  }
  # metafor's default root-finding tolerance is eps^0.25 = 1.2e-4 (absolute): the bounds it prints are
  # off by up to ~7e-4 relative. A tight tolerance gives the exact profile bounds.
  ci <- list(confint(r, sigma2 = 1, control = list(tol = 1e-12)), confint(r, sigma2 = 2, control = list(tol = 1e-12)))
  add(list(name = paste0("konstantopoulos_confint_", spec$method), kind = "rma.mv.confint", method = spec$method,
           root_tol = 1e-12,
           mods = spec$mods, input = ko_in,
           expect = list(sigma2 = num(r$sigma2), sigma2_1_ci = num(ci[[1]]$random[1, 2:3]),
                         sigma2_2_ci = num(ci[[2]]$random[1, 2:3]))))
}

# likelihood-ratio test of two rma.mv fits (ML)
full <- rma.mv(yi, vi, mods = ~ year, random = ~ 1 | district/school, data = ko, method = "ML")
red <- rma.mv(yi, vi, random = ~ 1 | district/school, data = ko, method = "ML")
a <- anova(full, red)
add(list(name = "konstantopoulos_anova_ML", kind = "anova.mv", method = "ML", mods = "~ year", input = ko_in,
         expect = list(LRT = a$LRT, pval = a$pval, AIC_full = a$fit.stats.f[["AIC"]],
                       AIC_reduced = a$fit.stats.r[["AIC"]], BIC_full = a$fit.stats.f[["BIC"]],
                       AICc_full = a$fit.stats.f[["AICc"]], logLik_full = a$fit.stats.f[["ll"]])))

# predict and ranef of rma.mv (metafor's nlminb stops ~1e-8 relative from the optimum of sigma2)
r <- rma.mv(yi, vi, random = ~ 1 | district/school, data = ko)
p0 <- unclass(predict(r))
r2 <- rma.mv(yi, vi, mods = ~ year, random = ~ 1 | district/school, data = ko, test = "t")
p2 <- unclass(predict(r2, newmods = c(1975, 1990), transf = exp))
re <- ranef(r2)
add(list(name = "konstantopoulos_mv_predict_ranef", kind = "mv.predict", input = ko_in, newmods = c(1975, 1990),
         expect = list(p0 = lapply(p0[c("pred", "se", "ci.lb", "ci.ub", "pi.lb", "pi.ub")], num),
                       p2_exp = lapply(p2[c("pred", "ci.lb", "ci.ub", "pi.lb", "pi.ub")], num),
                       ranef_cluster = list(names = rownames(re[[1]]), pred = num(re[[1]]$intrcpt), se = num(re[[1]]$se),
                                            pi_lb = num(re[[1]]$pi.lb), pi_ub = num(re[[1]]$pi.ub)),
                       ranef_within = list(names = rownames(re[[2]]), pred = num(re[[2]]$intrcpt), se = num(re[[2]]$se),
                                           pi_lb = num(re[[2]]$pi.lb), pi_ub = num(re[[2]]$pi.ub)))))

# escalc measures beyond metafor_escalc_more.json (bayesma.effects.measures_extra)
esc <- function(name, measure, input, options = list()) {
  f <- suppressWarnings(do.call(escalc, c(list(measure = measure), input, options)))
  add(list(name = name, kind = "escalc", measure = measure, options = options, input = input,
           expect = list(yi = num(f$yi), vi = num(f$vi))))
}
norm <- with(dat.normand1999, list(m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i))
for (vt in c("LS", "LS2")) esc(paste0("normand_SMDH_", vt), "SMDH", norm, list(vtype = vt))
for (vt in c("LS", "LS2", "UB", "AV")) esc(paste0("normand_SMD1_", vt), "SMD1", norm[c("m1i", "n1i", "m2i", "sd2i", "n2i")],
                                           list(vtype = vt))
esc("normand_SMD1H", "SMD1H", norm)
molr <- list(ri = dat.molloy2014$ri, ni = dat.molloy2014$ni)
for (vt in c("LS", "UB", "AV")) esc(paste0("molloy_UCOR_", vt), "UCOR", molr, list(vtype = vt))
esc("small_UCOR", "UCOR", list(ri = c(0.3, -0.5, 0.2, 0.9), ni = c(4, 5, 12, 40)))
pritz <- list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni)
for (vt in c("LS", "AV")) esc(paste0("pritz_PLN_", vt), "PLN", pritz, list(vtype = vt))
esc("zero_PLN_to_all", "PLN", list(xi = c(0, 3, 10), ni = c(20, 30, 40)), list(to = "all"))
rate1 <- list(xi = c(0, 3, 12, 40), ti = c(100, 250.5, 480, 1200))
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  esc(paste0("rate1_", m), m, rate1)
  esc(paste0("rate1_", m, "_to_all"), m, rate1, list(to = "all", add = 0.5))
}
pp <- list(m1i = c(38.5, 26.8, 0.7, 75.9, 36.0), m2i = c(30.6, 23.5, 0.5, 53.4, 35.6),
           sd1i = c(11.6, 4.1, 0.1, 4.4, 4.6), sd2i = c(15.0, 3.1, 0.1, 14.5, 4.7),
           ni = c(20, 50, 9, 10, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))
esc("prepost_CVRC", "CVRC", pp)
esc("prepost_VRC", "VRC", pp[c("sd1i", "sd2i", "ni", "ri")])
paired <- list(ai = c(20, 15, 0, 40, 8), bi = c(5, 10, 3, 0, 6), ci = c(8, 4, 2, 7, 0), di = c(30, 22, 12, 60, 19))
for (m in c("MPRD", "MPRR", "MPOR", "MPORC", "MPPETO")) {
  esc(paste0("paired_", m), m, paired)
  esc(paste0("paired_", m, "_to_all"), m, paired, list(to = "all"))
}
bon <- list(ai = dat.bonett2010$ai, mi = dat.bonett2010$mi, ni = dat.bonett2010$ni)
for (m in c("ARAW", "AHW", "ABT")) esc(paste0("bonett_", m), m, bon)
esc("inline_REH", "REH", list(ai = c(120, 300, 45), bi = c(80, 220, 50), ci = c(20, 35, 10)))

meta <- list(made = format(Sys.Date()), R = R.version.string, metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(list(meta = meta, cases = cases), digits = NA, auto_unbox = TRUE, null = "null", pretty = FALSE),
           "tests/data/reference/metafor/metafor_toolbox.json")
