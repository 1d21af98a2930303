# More reference values for location-scale models (metafor's rma(..., scale = ~ ...), class rma.ls),
# made as held-out checks beside metafor_location_scale.R: other data sets (dat.konstantopoulos2011,
# dat.laopaiboon2015, dat.molloy2014, dat.hackshaw1998, dat.bcg, dat.bangertdrowns2004), ML and REML,
# both links, factors and two covariates in the scale part, location and scale moderators together,
# test = "t" / "knha" / "adhoc", level = 90, and the printout's location and scale sections.
#
# Run:  Rscript tests/data/reference/metafor/metafor_location_scale_more.R   (writes metafor_location_scale_more.json)
# Made with R 4.2.2, metafor 3.8.1, metadat 1.2-0 (Debian packages).
#
# Identity-link fits use tight optimiser tolerances (as metafor_location_scale.R: constrOptim stops
# short by default); the default fit's log-likelihood is kept as logLik_default_control.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

bd <- dat.bangertdrowns2004
bd$logni <- log(bd$ni)
bcg <- as.data.frame(escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
lao <- as.data.frame(escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.laopaiboon2015))
mol <- as.data.frame(escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014))
kon <- as.data.frame(dat.konstantopoulos2011)
kon$decade <- ifelse(kon$year < 1990, "early", "late")
hack <- as.data.frame(dat.hackshaw1998)
datasets <- list(bd = bd, bcg = bcg, lao = lao, mol = mol, kon = kon, hack = hack)
datanames <- c(bd = "dat.bangertdrowns2004", bcg = "dat.bcg", lao = "dat.laopaiboon2015",
               mol = "dat.molloy2014", kon = "dat.konstantopoulos2011", hack = "dat.hackshaw1998")

fits <- list(
  list(name = "bd_imag_wic_ML", data = "bd", mods = "~ imag", scale = "~ wic", method = "ML"),
  list(name = "bd_feedback_logni_REML_t", data = "bd", mods = "~ feedback", scale = "~ logni", method = "REML",
       test = "t"),
  list(name = "bd_imag_grade_length_REML_knha", data = "bd", mods = "~ imag", scale = "~ factor(grade) + length",
       method = "REML", test = "knha"),
  list(name = "bd_info_pers_adhoc_ML", data = "bd", mods = "~ info", scale = "~ pers + logni", method = "ML",
       test = "adhoc"),
  list(name = "bcg_ablat_ablat_ML", data = "bcg", mods = "~ ablat", scale = "~ ablat", method = "ML"),
  list(name = "bcg_ablat_year_ablat_ML_t", data = "bcg", mods = "~ ablat", scale = "~ year + ablat",
       method = "ML", test = "t"),
  list(name = "bcg_alloc_identity_ML", data = "bcg", scale = "~ alloc", method = "ML", link = "identity"),
  list(name = "bcg_ablat_level90_REML", data = "bcg", scale = "~ ablat", method = "REML", level = 90),
  list(name = "kon_year_year_REML", data = "kon", mods = "~ year", scale = "~ year", method = "REML"),
  list(name = "kon_decade_ML", data = "kon", scale = "~ decade", method = "ML"),
  list(name = "kon_decade_identity_REML", data = "kon", mods = "~ year", scale = "~ decade", method = "REML",
       link = "identity"),
  list(name = "lao_diag_age_REML", data = "lao", mods = "~ diag.ab", scale = "~ age", method = "REML"),
  list(name = "lao_age_ML_t", data = "lao", scale = "~ age", method = "ML", test = "t"),
  list(name = "mol_design_meanage_quality_REML", data = "mol", mods = "~ design", scale = "~ meanage + quality",
       method = "REML"),
  list(name = "mol_controls_ML", data = "mol", scale = "~ controls", method = "ML"),
  list(name = "hack_design_year_REML", data = "hack", mods = "~ year", scale = "~ design", method = "REML"),
  list(name = "hack_design_nointercept_ML", data = "hack", scale = "~ design - 1", method = "ML")
)

cases <- list()
for (f in fits) {
  test <- if (is.null(f$test)) "z" else f$test
  link <- if (is.null(f$link)) "log" else f$link
  level <- if (is.null(f$level)) 95 else f$level
  vars <- unique(c("yi", "vi", all.vars(as.formula(f$scale)),
                   if (is.null(f$mods)) character(0) else all.vars(as.formula(f$mods))))
  dat <- datasets[[f$data]]
  d <- dat[complete.cases(dat[, vars]), ]
  tight <- list(reltol = 1e-14, outer.eps = 1e-14, outer.iterations = 1000, maxit = 10000)
  fit <- function(control) {
    if (is.null(f$mods)) {
      rma(yi, vi, scale = as.formula(f$scale), data = d, method = f$method, test = test, link = link,
          level = level, control = control)
    } else {
      rma(yi, vi, mods = as.formula(f$mods), scale = as.formula(f$scale), data = d, method = f$method,
          test = test, link = link, level = level, control = control)
    }
  }
  res <- fit(if (link == "identity") tight else list())
  ll_default <- num(logLik(fit(list())))
  fs <- fitstats(res)
  input <- lapply(d[, vars], function(x) if (is.character(x)) x else num(x))
  printed <- capture.output(print(res))
  cases[[length(cases) + 1]] <- list(
    name = f$name, kind = "location_scale", data = datanames[[f$data]], mods = f$mods, scale = f$scale,
    method = f$method, test = test, link = link, level = level,
    control = if (link == "identity") tight else NULL,
    call = sprintf("rma(yi, vi%s, scale = %s, method = '%s', test = '%s', link = '%s', level = %s)",
                   if (is.null(f$mods)) "" else paste0(", mods = ", f$mods), f$scale, f$method, test, link, level),
    input = input,
    expect = list(
      beta = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), QM = num(res$QM), QMp = num(res$QMp),
      alpha = num(res$alpha), se_alpha = num(res$se.alpha), zval_alpha = num(res$zval.alpha),
      pval_alpha = num(res$pval.alpha), ci_lb_alpha = num(res$ci.lb.alpha), ci_ub_alpha = num(res$ci.ub.alpha),
      QS = num(res$QS), QSp = num(res$QSp), tau2 = num(res$tau2), QE = num(res$QE), QEp = num(res$QEp),
      logLik = num(logLik(res)), deviance = num(fs[2, 1]), AIC = num(fs[3, 1]), BIC = num(fs[4, 1]),
      AICc = num(fs[5, 1]), k = res$k, coef_names = rownames(res$beta), scale_names = rownames(res$alpha),
      logLik_default_control = ll_default, printout = printed
    )
  )
}
# predictions of a fit with test = "t" (t quantiles with k - p and k - q degrees of freedom)
d <- bd[complete.cases(bd[, c("yi", "vi", "feedback", "logni")]), ]
res <- rma(yi, vi, mods = ~ feedback, scale = ~ logni, data = d, test = "t")
p1 <- predict(res, newmods = 1, newscale = 4)
p2 <- predict(res, newscale = c(3, 5))
cases[[length(cases) + 1]] <- list(
  name = "bd_feedback_logni_REML_t_predict", kind = "location_scale_predict", data = "dat.bangertdrowns2004",
  call = "predict(rma(yi, vi, mods = ~ feedback, scale = ~ logni, test = 't'), newmods = 1, newscale = 4); predict(..., newscale = c(3, 5))",
  input = lapply(d[, c("yi", "vi", "feedback", "logni")], num),
  expect = list(location = lapply(as.data.frame(p1)[, c("pred", "se", "ci.lb", "ci.ub", "pi.lb", "pi.ub")], num),
                scale = lapply(as.data.frame(p2)[, c("pred", "se", "ci.lb", "ci.ub")], num)))
out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        date = as.character(Sys.Date())),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(here, "metafor_location_scale_more.json"))
