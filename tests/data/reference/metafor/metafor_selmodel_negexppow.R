# Reference values for selmodel's types negexppow and the "2" variants (halfnorm2, negexp2,
# logistic2, power2), made with metafor 3.8.1.
# Run from this directory:  Rscript metafor_selmodel_negexppow.R   (writes metafor_selmodel_negexppow.json)
# Every case stores its inputs (yi, vi), so the tests need no R. Each case has metafor's default
# integration tolerance and, under expect$precise, intCtrl rel.tol = 1e-10.
suppressMessages({library(metafor); library(jsonlite)})

meta <- list(made = format(Sys.Date()), R = R.version.string,
             metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             script = "metafor_selmodel_negexppow.R")

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
    selp <- tryCatch(do.call(selmodel, c(args, list(control = list(intCtrl = list(rel.tol = 1e-10))))),
                     error = function(e) NULL)  # metafor's optimiser can fail here (then no precise values)
    if (!is.null(selp)) ex$precise <- list(beta = arr(selp$beta), se = arr(selp$se), tau2 = selp$tau2, se_tau2 = selp$se.tau2,
                       delta = arr(selp$delta), se_delta = num(selp$se.delta), LRT = selp$LRT, ll = selp$ll)
  }
  add(list(name = name, kind = "selmodel", data = set, method = method, type = type,
           steps = if (is.null(steps)) NA else arr(steps), alternative = alternative,
           mods = if (is.null(mods)) NA else paste(deparse(mods), collapse = ""),
           delta = if (is.null(delta)) NA else arr(delta),
           input = as.list(dat), expect = ex))
}


# negexppow (two selection parameters), with and without a step, both directions
try_case <- function(...) tryCatch(sel_case(...), error = function(e) message("skipped: ", conditionMessage(e)))
try_case("hackshaw_negexppow", "hackshaw", "ML", "negexppow")
try_case("hackshaw_negexppow_step", "hackshaw", "ML", "negexppow", c(0.05, 1))
try_case("bcg_negexppow_less", "bcg", "ML", "negexppow", NULL, "less")
try_case("lehmann_negexppow", "lehmann", "ML", "negexppow")  # metafor 3.8.1: optimisation error
try_case("molloy_negexppow_reml", "molloy", "REML", "negexppow")
# the "2" variants: w = (delta1 + w(delta2)) / (1 + delta1)
try_case("hackshaw_halfnorm2", "hackshaw", "ML", "halfnorm2")
try_case("bcg_negexp2_less", "bcg", "ML", "negexp2", NULL, "less")
try_case("lehmann_logistic2", "lehmann", "ML", "logistic2")
try_case("hackshaw_power2", "hackshaw", "ML", "power2")  # power2: metafor fails with rel.tol = 1e-10 (no precise)
try_case("bcg_power2_less", "bcg", "ML", "power2", NULL, "less")
try_case("molloy_power2", "molloy", "ML", "power2")
try_case("hackshaw_negexp2_step", "hackshaw", "ML", "negexp2", c(0.05, 1))

writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "metafor_selmodel_negexppow.json")
