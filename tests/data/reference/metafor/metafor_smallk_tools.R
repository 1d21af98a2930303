# Reference values for the few-studies toolbox: prediction-interval variants (predict's pi.type),
# permutation tests (permutest, exact enumeration) and the test of excess significance (tes).
#
# Run:  Rscript tests/data/reference/metafor/metafor_smallk_tools.R   (writes metafor_smallk_tools.json)
# Made with R 4.2.2, metafor 3.8.1, metadat 1.2-0 (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_in <- list(yi = num(bcg$yi), vi = num(bcg$vi), ablat = num(bcg$ablat), year = num(bcg$year),
               alloc = as.character(bcg$alloc))

# ---------------------------------------------------------------- predict(pi.type = ...)
fits <- list(
  list(name = "bcg_REML_z", method = "REML", test = "z", mods = NULL, rows = NULL),
  list(name = "bcg_REML_knha", method = "REML", test = "knha", mods = NULL, rows = NULL),
  list(name = "bcg_DL_z", method = "DL", test = "z", mods = NULL, rows = NULL),
  list(name = "bcg_PM_knha", method = "PM", test = "knha", mods = NULL, rows = NULL),
  list(name = "bcg_REML_z_k3", method = "REML", test = "z", mods = NULL, rows = 1:3),
  list(name = "bcg_REML_knha_k3", method = "REML", test = "knha", mods = NULL, rows = 1:3),
  list(name = "bcg_REML_z_ablat", method = "REML", test = "z", mods = "~ ablat", rows = NULL),
  list(name = "bcg_REML_knha_ablat", method = "REML", test = "knha", mods = "~ ablat", rows = NULL)
)
for (f in fits) {
  d <- if (is.null(f$rows)) bcg else bcg[f$rows, ]
  res <- if (is.null(f$mods)) rma(yi, vi, data = d, method = f$method, test = f$test)
         else rma(yi, vi, mods = as.formula(f$mods), data = d, method = f$method, test = f$test)
  newmods <- if (is.null(f$mods)) NULL else c(10, 33, 55)
  out <- list()
  for (pt in c("z", "t", "riley", "simple", "default")) {
    p <- if (is.null(newmods)) predict(res, pi.type = pt) else predict(res, newmods = newmods, pi.type = pt)
    out[[pt]] <- list(pred = num(p$pred), se = num(p$se), ci_lb = num(p$ci.lb), ci_ub = num(p$ci.ub),
                      pi_lb = num(p$pi.lb), pi_ub = num(p$pi.ub), pi_ddf = num(p$pi.ddf))
  }
  add(list(name = f$name, kind = "predict_pi_type", method = f$method, test = f$test, mods = f$mods,
           rows = f$rows, newmods = newmods,
           call = sprintf("predict(rma(yi, vi%s, method = '%s', test = '%s'%s)%s, pi.type = ...)",
                          if (is.null(f$mods)) "" else paste0(", mods = ", f$mods), f$method, f$test,
                          if (is.null(f$rows)) "" else ", subset = 1:3",
                          if (is.null(newmods)) "" else ", newmods = c(10, 33, 55)"),
           input = bcg_in, expect = out))
}

# ---------------------------------------------------------------- permutest (exact enumeration only)
perm_cases <- list(
  list(name = "bcg_intercept_REML", rows = NULL, mods = NULL, test = "z", method = "REML"),
  list(name = "bcg_intercept_knha", rows = NULL, mods = NULL, test = "knha", method = "REML"),
  list(name = "bcg_intercept_DL_k6", rows = 1:6, mods = NULL, test = "z", method = "DL"),
  list(name = "bcg_ablat_k7", rows = 1:7, mods = "~ ablat", test = "z", method = "REML"),
  list(name = "bcg_ablat_k7_knha", rows = 1:7, mods = "~ ablat", test = "knha", method = "REML"),
  list(name = "bcg_ablat_year_k7", rows = 1:7, mods = "~ ablat + year", test = "z", method = "DL")
)
for (f in perm_cases) {
  d <- if (is.null(f$rows)) bcg else bcg[f$rows, ]
  res <- if (is.null(f$mods)) rma(yi, vi, data = d, method = f$method, test = f$test)
         else rma(yi, vi, mods = as.formula(f$mods), data = d, method = f$method, test = f$test)
  pt <- permutest(res, exact = TRUE, progbar = FALSE)
  add(list(name = paste0("permutest_", f$name), kind = "permutest", method = f$method, test = f$test,
           mods = f$mods, rows = f$rows, exact = TRUE,
           call = sprintf("permutest(rma(yi, vi%s, method = '%s', test = '%s')%s, exact = TRUE)",
                          if (is.null(f$mods)) "" else paste0(", mods = ", f$mods), f$method, f$test,
                          if (is.null(f$rows)) "" else sprintf(", rows %d:%d", min(f$rows), max(f$rows))),
           input = bcg_in,
           expect = list(pval = num(pt$pval), QMp = num(pt$QMp), beta = num(pt$beta), zval = num(pt$zval),
                         QM = num(pt$QM), iter = num(nrow(pt$zval.perm)))))
}

# ---------------------------------------------------------------- tes
dorn <- escalc(measure = "RR", ai = x.a, n1i = n.a, ci = x.p, n2i = n.p, data = dat.dorn2007)
dorn_in <- list(yi = num(dorn$yi), vi = num(dorn$vi), study = as.character(dorn$study))
for (spec in list(list(test = "exact", alt = "greater", theta = NULL),
                  list(test = "binom", alt = "greater", theta = NULL),
                  list(test = "chi2", alt = "greater", theta = NULL),
                  list(test = "exact", alt = "two.sided", theta = NULL),
                  list(test = "exact", alt = "greater", theta = 0.2))) {
  t1 <- if (is.null(spec$theta)) tes(dorn$yi, dorn$vi, test = spec$test, tes.alternative = spec$alt)
        else tes(dorn$yi, dorn$vi, test = spec$test, tes.alternative = spec$alt, theta = spec$theta)
  add(list(name = sprintf("tes_dorn2007_%s_%s%s", spec$test, spec$alt, if (is.null(spec$theta)) "" else "_theta"),
           kind = "tes", test = spec$test, tes_alternative = spec$alt, theta = spec$theta,
           call = sprintf("tes(yi, vi, test = '%s', tes.alternative = '%s'%s)", spec$test, spec$alt,
                          if (is.null(spec$theta)) "" else ", theta = 0.2"),
           input = dorn_in,
           expect = list(O = num(t1$O), E = num(t1$E), OEratio = num(t1$OEratio), X2 = num(t1$X2),
                         pval = num(t1$pval), theta = num(t1$theta), theta_lim = num(t1$theta.lim),
                         power = num(t1$power), sig = as.logical(t1$sig))))
}

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        metadat = as.character(packageVersion("metadat")), date = as.character(Sys.Date()),
                        script = "tests/data/reference/metafor/metafor_smallk_tools.R"),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null"),
           file.path(here, "metafor_smallk_tools.json"))
cat("wrote", length(cases), "cases\n")
