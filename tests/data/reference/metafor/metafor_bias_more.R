# Held-out reference values for publication-bias methods (issue 11), made with metafor.
# Run from this directory:  Rscript metafor_bias_more.R   (writes metafor_bias_more.json)
# Every case stores its inputs (yi, vi and moderators), so the tests need no R.
# Cases differ from metafor_cases_v2.json: other step cut points, alternative = "less",
# fixed-effects and REML inputs (selmodel refits with ML), a moderator, other data sets
# (dat.bcg, dat.hackshaw1998, dat.lehmann2018, dat.molloy2014), ranktest, fsn variants, hc, PET/PEESE.
suppressMessages({library(metafor); library(jsonlite)})

meta <- list(made = format(Sys.Date()), R = R.version.string,
             metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             script = "metafor_bias_more.R")

arr <- function(x) I(unname(as.numeric(x)))
num <- function(x) if (is.null(x) || all(is.na(x))) NA else arr(x)

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
hack <- dat.hackshaw1998
leh <- dat.lehmann2018
mol <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)

sets <- list(bcg = bcg, hackshaw = hack, lehmann = leh, molloy = mol)

cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

sel_case <- function(name, set, method, type, steps = NULL, alternative = "greater", mods = NULL, delta = NULL) {
  d <- sets[[set]]
  dat <- data.frame(yi = as.numeric(d$yi), vi = as.numeric(d$vi))
  if (!is.null(mods)) dat$ablat <- d$ablat
  fit <- if (is.null(mods)) rma(yi, vi, data = dat, method = method)
         else rma(yi, vi, mods = mods, data = dat, method = method)
  args <- list(fit, type = type, alternative = alternative)
  if (!is.null(steps)) args$steps <- steps
  if (!is.null(delta)) args$delta <- delta
  sel <- do.call(selmodel, args)
  ex <- list(beta = arr(sel$beta), se = arr(sel$se), zval = arr(sel$zval), pval = arr(sel$pval),
             ci_lb = arr(sel$ci.lb), ci_ub = arr(sel$ci.ub), tau2 = sel$tau2, se_tau2 = sel$se.tau2,
             delta = arr(sel$delta), se_delta = num(sel$se.delta),
             ci_lb_delta = num(sel$ci.lb.delta), ci_ub_delta = num(sel$ci.ub.delta),
             pval_delta = num(sel$pval.delta),
             LRT = sel$LRT, LRTdf = sel$LRTdf, LRTp = sel$LRTp, ll = sel$ll, ll0 = sel$ll0,
             LRT_tau2 = sel$LRT.tau2, LRTp_tau2 = sel$LRTp.tau2,
             QM = if (is.null(mods)) NA else sel$QM, QMp = if (is.null(mods)) NA else sel$QMp,
             pvals = arr(sel$pvals),
             k_per_interval = if (is.data.frame(sel$ptable)) arr(sel$ptable$k) else NA)
  if (type != "stepfun") {
    # the same fit with accurate integration: metafor's default rel.tol (1.2e-4) leaves noise in the Hessian
    selp <- do.call(selmodel, c(args, list(control = list(intCtrl = list(rel.tol = 1e-10)))))
    ex$precise <- list(beta = arr(selp$beta), se = arr(selp$se), tau2 = selp$tau2, se_tau2 = selp$se.tau2,
                       delta = arr(selp$delta), se_delta = num(selp$se.delta), LRT = selp$LRT, ll = selp$ll)
  }
  add(list(name = name, kind = "selmodel", data = set, method = method, type = type,
           steps = if (is.null(steps)) NA else arr(steps), alternative = alternative,
           mods = if (is.null(mods)) NA else paste(deparse(mods), collapse = ""),
           delta = if (is.null(delta)) NA else arr(delta),
           input = as.list(dat), expect = ex))
}

sel_case("bcg_stepfun_less", "bcg", "ML", "stepfun", c(0.05, 0.5, 1), "less")
sel_case("bcg_halfnorm_less", "bcg", "ML", "halfnorm", NULL, "less")
sel_case("bcg_negexp_less", "bcg", "ML", "negexp", NULL, "less")
sel_case("bcg_power_less", "bcg", "ML", "power", NULL, "less")
sel_case("bcg_logistic_less", "bcg", "ML", "logistic", NULL, "less")
sel_case("bcg_beta_less", "bcg", "ML", "beta", NULL, "less")
sel_case("bcg_ablat_stepfun_less", "bcg", "ML", "stepfun", c(0.05, 1), "less", mods = ~ ablat)
sel_case("hackshaw_stepfun_4", "hackshaw", "ML", "stepfun", c(0.01, 0.05, 0.1, 0.5, 1))
sel_case("hackshaw_FE_stepfun", "hackshaw", "FE", "stepfun", c(0.05, 1))
sel_case("hackshaw_halfnorm_step", "hackshaw", "ML", "halfnorm", c(0.05, 1))
sel_case("hackshaw_power", "hackshaw", "ML", "power")
sel_case("lehmann_stepfun_6", "lehmann", "ML", "stepfun", c(0.005, 0.025, 0.05, 0.1, 0.5, 1))
sel_case("lehmann_REML_refit_stepfun", "lehmann", "REML", "stepfun", c(0.05, 1))
sel_case("lehmann_FE_negexp", "lehmann", "FE", "negexp")
sel_case("lehmann_logistic_step", "lehmann", "ML", "logistic", c(0.025, 1))
sel_case("molloy_stepfun", "molloy", "ML", "stepfun", c(0.025, 0.5, 1))
sel_case("molloy_beta", "molloy", "ML", "beta")
# selection weights fixed by the user (Vevea & Woods 2005): partly and fully
sel_case("hackshaw_stepfun_fixed_last", "hackshaw", "ML", "stepfun", c(0.025, 0.5, 1), delta = c(1, NA, 0.5))
sel_case("hackshaw_stepfun_all_fixed", "hackshaw", "ML", "stepfun", c(0.025, 0.5, 1), delta = c(1, 0.7, 0.4))
sel_case("hackshaw_halfnorm_fixed", "hackshaw", "ML", "halfnorm", NULL, delta = 2)
# the v2 cases of the smooth types, with accurate integration only
for (ty in c("beta", "halfnorm", "negexp", "logistic", "power")) sel_case(paste0("lehmann_", ty, "_v2"), "lehmann", "ML", ty)

for (set in names(sets)) {
  d <- sets[[set]]
  dat <- data.frame(yi = as.numeric(d$yi), vi = as.numeric(d$vi))
  # rank correlation test (Begg & Mazumdar), on a REML fit as the user would call it
  rt <- ranktest(rma(yi, vi, data = dat))
  add(list(name = paste0(set, "_ranktest"), kind = "ranktest", data = set, input = as.list(dat),
           expect = list(tau = unname(rt$tau), pval = rt$pval,
                         ties = any(duplicated(dat$vi)))))
  # fail-safe N
  f1 <- fsn(yi, vi, data = dat, type = "Rosenthal")
  f2 <- fsn(yi, vi, data = dat, type = "Orwin")
  f3 <- fsn(yi, vi, data = dat, type = "Orwin", weighted = TRUE)
  f4 <- fsn(yi, vi, data = dat, type = "Orwin", target = 0.05)
  f5 <- fsn(yi, vi, data = dat, type = "Rosenberg")
  f6 <- fsn(yi, vi, data = dat, type = "Rosenthal", alpha = 0.01)
  add(list(name = paste0(set, "_fsn"), kind = "fsn", data = set, input = as.list(dat),
           expect = list(rosenthal = f1$fsnum, rosenthal_pval = f1$pval,
                         orwin = f2$fsnum, orwin_meanes = f2$meanes, orwin_target = f2$target,
                         orwin_weighted = f3$fsnum, orwin_weighted_meanes = f3$meanes,
                         orwin_target_005 = f4$fsnum, orwin_target_005_target = f4$target,
                         rosenberg = f5$fsnum, rosenberg_pval = f5$pval, rosenberg_meanes = f5$meanes,
                         rosenthal_alpha01 = f6$fsnum)))
  # Henmi & Copas
  h <- hc(rma(yi, vi, data = dat, method = "DL"))
  add(list(name = paste0(set, "_hc"), kind = "hc", data = set, input = as.list(dat),
           expect = list(beta = h$beta, se = h$se, ci_lb = h$ci.lb, ci_ub = h$ci.ub, tau2 = h$tau2)))
  # PET (~ sei) and PEESE (~ vi), fixed-effects weights
  pet <- rma(yi, vi, mods = ~ sqrt(vi), data = dat, method = "FE")
  peese <- rma(yi, vi, mods = ~ vi, data = dat, method = "FE")
  petk <- rma(yi, vi, mods = ~ sqrt(vi), data = dat, method = "FE", test = "knha")
  add(list(name = paste0(set, "_petpeese"), kind = "petpeese", data = set, input = as.list(dat),
           expect = list(pet_beta = arr(pet$beta), pet_se = arr(pet$se), pet_pval = arr(pet$pval),
                         peese_beta = arr(peese$beta), peese_se = arr(peese$se), peese_pval = arr(peese$pval),
                         pet_knha_se = arr(petk$se), pet_knha_pval = arr(petk$pval))))
}

# an empty p-value interval: metafor's error text
d <- data.frame(yi = as.numeric(hack$yi), vi = as.numeric(hack$vi))
err <- tryCatch(selmodel(rma(yi, vi, data = d, method = "ML"), type = "stepfun", steps = c(0.001, 0.002, 1)),
                error = function(e) conditionMessage(e))
add(list(name = "hackshaw_empty_interval", kind = "selmodel_error", data = "hackshaw",
         steps = arr(c(0.001, 0.002, 1)), input = as.list(d), expect = list(error = err)))

writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "metafor_bias_more.json")
