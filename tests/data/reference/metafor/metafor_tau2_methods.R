# Regenerates metafor_tau2_methods.json (beside this script): every tau^2 estimator of rma.uni.
# Run from this directory:  Rscript metafor_tau2_methods.R            (rewrites metafor_tau2_methods.json)
#                           Rscript metafor_tau2_methods.R out.json   (writes elsewhere, e.g. to compare)
# Made for R 4.2.2, metafor 3.8.1, metadat 1.2-0, CompQuadForm 1.4.3 (method="GENQM" and the
# confint() of GENQ / GENQM call CompQuadForm::farebrother; install it from CRAN, e.g. into a
# library on R_LIBS). Every case stores its inputs, so the tests need no R.
# Data sets: dat.bcg (log risk ratios; also with the moderator ablat), dat.molloy2014 (Fisher's z),
# the first three BCG trials (k = 3). Methods: all fifteen of metafor 3.8.1 but DLIT, SJIT and MP
# (FE, DL, HE, HS, HSk, SJ, ML, REML, EB, PM, PMM, GENQ, GENQM); GENQ / GENQM with the weights
# 1 / vi and the sample sizes; test = "z" for every method, "t" and "knha" for the new ones;
# user weights with DL / REML (the weighted least-squares coefficients); metafor's errors.
suppressMessages({library(metafor); library(jsonlite)})

out_file <- if (length(commandArgs(TRUE))) commandArgs(TRUE)[1] else "metafor_tau2_methods.json"
num <- function(x) unname(as.numeric(x))

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$n <- with(bcg, tpos + tneg + cpos + cneg)
molloy <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
molloy$n <- molloy$ni
sets <- list(
  bcg = list(dat = bcg, mods = NULL),
  molloy = list(dat = molloy, mods = NULL),
  bcg_k3 = list(dat = bcg[1:3, ], mods = NULL),
  bcg_ablat = list(dat = bcg, mods = "~ ablat")
)

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

one_case <- function(set, method, test = "z", weights = NULL) {
  s <- sets[[set]]
  dat <- data.frame(yi = num(s$dat$yi), vi = num(s$dat$vi), n = num(s$dat$n))
  if (!is.null(s$mods)) dat$ablat <- num(s$dat$ablat)
  w <- switch(if (is.null(weights)) "none" else weights, none = NULL, inv = 1 / dat$vi, n = dat$n)
  name <- sprintf("%s_%s_%s%s", set, method, test, if (is.null(weights)) "" else paste0("_w", weights))
  args <- list(yi = dat$yi, vi = dat$vi, method = method, test = test)
  if (!is.null(w)) args$weights <- w
  if (!is.null(s$mods)) { args$mods <- as.formula(s$mods); args$data <- dat }
  res <- tryCatch(do.call(rma, args), error = function(e) e)
  base <- list(name = name, set = set, method = method, test = test, weights = weights, mods = s$mods,
               input = as.list(dat))
  if (inherits(res, "error")) return(c(base, list(error = conditionMessage(res))))
  ex <- list(tau2 = res$tau2, se_tau2 = res$se.tau2, beta = num(res$beta), se = num(res$se),
             stat = num(res$zval), pval = num(res$pval), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
             QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp, I2 = res$I2, H2 = res$H2,
             k = res$k, p = res$p, ll_ML = res$fit.stats["ll", "ML"], ll_REML = res$fit.stats["ll", "REML"],
             coef_names = rownames(res$beta), weights_pct = num(weights(res)))
  if (!is.null(res$R2)) ex$R2 <- res$R2
  if (test != "z") ex$dfs <- res$ddf[1]
  if (!is.element(method, c("FE", "EE", "CE"))) {
    ci <- tryCatch(confint(res)$random, error = function(e) e)
    if (inherits(ci, "error")) {
      ex$confint_error <- conditionMessage(ci)
    } else {
      ex$tau2_ci <- num(ci["tau^2", c("ci.lb", "ci.ub")])
      ex$I2_ci <- num(ci["I^2(%)", c("ci.lb", "ci.ub")])
      ex$H2_ci <- num(ci["H^2", c("ci.lb", "ci.ub")])
    }
  }
  if (is.null(s$mods)) {
    pr <- predict(res)
    ex$pi_lb <- num(pr$pi.lb); ex$pi_ub <- num(pr$pi.ub)
  }
  c(base, list(expect = ex))
}

methods_old <- c("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
methods_new <- c("HSk", "PMM")
for (set in names(sets)) {
  for (m in c(methods_old, methods_new)) add(one_case(set, m))
  for (m in methods_new) for (test in c("t", "knha")) add(one_case(set, m, test))
  for (m in c("GENQ", "GENQM")) {
    add(one_case(set, m))  # metafor's error: weights are required
    for (w in c("inv", "n")) for (test in c("z", "t", "knha")) add(one_case(set, m, test, w))
  }
  for (m in c("DL", "REML", "FE")) add(one_case(set, m, "z", "n"))  # user weights in the coefficients
}

meta <- list(source = sprintf("R %s.%s metafor %s metadat %s CompQuadForm %s", R.version$major, R.version$minor,
                              packageVersion("metafor"), packageVersion("metadat"), packageVersion("CompQuadForm")))
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE,
                  null = "null", na = "null"), out_file)
cat("wrote", out_file, "with", length(cases), "cases\n")
