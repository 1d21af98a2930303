# Reference values for location-scale meta-analysis (metafor's rma(..., scale = ~ ...), class rma.ls):
# ML and REML, log and identity links, a location moderator, a factor scale moderator, Knapp-Hartung tests.
#
# Run:  Rscript tests/data/reference/metafor/metafor_location_scale.R   (writes metafor_location_scale.json)
# Made with R 4.2.2, metafor 3.8.1, metadat 1.2-0 (Debian packages).
#
# With link = "identity" metafor optimises with constrOptim (Nelder-Mead inside a log barrier), whose
# default tolerances stop ~1e-3 (relative) short of the optimum; those cases are fitted with tight
# tolerances (`control`, recorded in the case) and the log-likelihood of the default fit is kept as
# `logLik_default_control` (bayesma's optimum must be at least as good).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
bd <- dat.bangertdrowns2004
bd$logni <- log(bd$ni)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
datasets <- list(bangertdrowns = bd, bcg = as.data.frame(bcg), raudenbush = dat.raudenbush1985)

fits <- list(
  list(name = "bangertdrowns_ls_logni_ML", mods = NULL, scale = "~ logni", method = "ML", test = "z", link = "log"),
  list(name = "bangertdrowns_ls_length_grade_ML", mods = "~ length", scale = "~ factor(grade)", method = "ML",
       test = "z", link = "log"),
  list(name = "bangertdrowns_ls_length_grade_ML_knha", mods = "~ length", scale = "~ factor(grade)", method = "ML",
       test = "knha", link = "log"),
  list(name = "bangertdrowns_ls_two_by_two_REML", mods = "~ length + imag", scale = "~ logni + meta",
       method = "REML", test = "z", link = "log"),
  list(name = "bangertdrowns_ls_meta_identity_REML", mods = NULL, scale = "~ meta", method = "REML", test = "z",
       link = "identity"),
  list(name = "bangertdrowns_ls_length_grade_identity_ML", mods = "~ length", scale = "~ factor(grade)",
       method = "ML", test = "z", link = "identity"),
  list(name = "bangertdrowns_ls_grade_logni_REML", mods = NULL, scale = "~ factor(grade) + logni",
       method = "REML", test = "z", link = "log"),
  list(name = "bcg_ls_year_ablat_REML", data = "bcg", mods = "~ year", scale = "~ ablat", method = "REML",
       test = "z", link = "log"),
  list(name = "bcg_ls_alloc_ML", data = "bcg", mods = NULL, scale = "~ alloc", method = "ML", test = "z",
       link = "log"),
  list(name = "raudenbush_ls_weeks_REML", data = "raudenbush", mods = NULL, scale = "~ weeks", method = "REML",
       test = "z", link = "log")
)

cases <- list()
for (f in fits) {
  vars <- unique(c("yi", "vi", all.vars(as.formula(f$scale)),
                   if (is.null(f$mods)) character(0) else all.vars(as.formula(f$mods))))
  dat <- datasets[[if (is.null(f$data)) "bangertdrowns" else f$data]]
  d <- dat[complete.cases(dat[, vars]), ]
  tight <- list(reltol = 1e-14, outer.eps = 1e-14, outer.iterations = 1000, maxit = 10000)
  fit <- function(control) {
    if (is.null(f$mods)) {
      rma(yi, vi, scale = as.formula(f$scale), data = d, method = f$method, test = f$test, link = f$link,
          control = control)
    } else {
      rma(yi, vi, mods = as.formula(f$mods), scale = as.formula(f$scale), data = d, method = f$method,
          test = f$test, link = f$link, control = control)
    }
  }
  res <- fit(if (f$link == "identity") tight else list())
  ll_default <- num(logLik(fit(list())))
  fs <- fitstats(res)
  input <- lapply(d[, vars], function(x) if (is.character(x)) x else num(x))
  cases[[length(cases) + 1]] <- list(
    name = f$name, kind = "location_scale", data = if (is.null(f$data)) "dat.bangertdrowns2004" else f$data, mods = f$mods, scale = f$scale, method = f$method, test = f$test,
    link = f$link, control = if (f$link == "identity") tight else NULL,
    call = sprintf("rma(yi, vi%s, scale = %s, method = '%s', test = '%s', link = '%s')",
                   if (is.null(f$mods)) "" else paste0(", mods = ", f$mods), f$scale, f$method, f$test, f$link),
    input = input,
    expect = list(
      beta = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), QM = num(res$QM), QMp = num(res$QMp),
      alpha = num(res$alpha), se_alpha = num(res$se.alpha), zval_alpha = num(res$zval.alpha),
      pval_alpha = num(res$pval.alpha), ci_lb_alpha = num(res$ci.lb.alpha), ci_ub_alpha = num(res$ci.ub.alpha),
      QS = num(res$QS), QSp = num(res$QSp), tau2 = num(res$tau2), QE = num(res$QE), QEp = num(res$QEp),
      logLik = num(logLik(res)), deviance = num(fs[2, 1]), AIC = num(fs[3, 1]), BIC = num(fs[4, 1]),
      AICc = num(fs[5, 1]), k = res$k, scale_names = rownames(res$alpha), logLik_default_control = ll_default
    )
  )
}
# scale given as a vector (a one-column matrix): used as it is, no intercept added
res <- rma(bd$yi, bd$vi, scale = bd$logni)
cases[[length(cases) + 1]] <- list(
  name = "bangertdrowns_ls_vector_scale", kind = "location_scale_matrix", data = "dat.bangertdrowns2004",
  method = "REML", call = "rma(yi, vi, scale = log(ni))",
  input = list(yi = num(bd$yi), vi = num(bd$vi), logni = num(bd$logni)),
  expect = list(alpha = num(res$alpha), se_alpha = num(res$se.alpha), beta = num(res$beta), logLik = num(logLik(res))))
out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        date = as.character(Sys.Date())),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE),
           file.path(here, "metafor_location_scale.json"))
