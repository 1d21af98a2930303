# More reference values for metafor's rma.glmm, made as held-out checks beside metafor_glmm.R:
# other data sets with counts (dat.collins1985a, dat.nielweise2007, dat.yusuf1985, dat.hine1989,
# dat.hart1999, dat.pritz1997, dat.bcg), every measure (OR, IRR, PLO, IRLN) and model (UM.FS, UM.RS,
# CM.EL, CM.AL), ML and FE, moderators (numeric and factor), test = "t", level = 90.
#
# Run:  Rscript tests/data/reference/metafor/metafor_glmm_more.R   (writes metafor_glmm_more.json)
# Made with R 4.2.2, metafor 3.8.1, lme4, BiasedUrn (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

col <- dat.collins1985a[!is.na(dat.collins1985a$b.xti), ]
yus <- dat.yusuf1985[dat.yusuf1985$table == "6", ]
datasets <- list(col = col, nw7 = dat.nielweise2007, yus = yus, hine = dat.hine1989, hart = dat.hart1999,
                 pr = dat.pritz1997, bcg = dat.bcg)
datanames <- c(col = "dat.collins1985a (b.x*: rows with counts)", nw7 = "dat.nielweise2007",
               yus = "dat.yusuf1985 (table 6)", hine = "dat.hine1989", hart = "dat.hart1999",
               pr = "dat.pritz1997", bcg = "dat.bcg")

cases <- list()
add <- function(name, data, argstr, cols, args, measure, model = "UM.FS", method = "ML", mods = NULL,
                test = "z", level = 95, extra = "") {
  d <- datasets[[data]]
  call <- paste0("rma.glmm(measure = '", measure, "', ", argstr, ", model = '", model, "', method = '", method,
                 "'", if (is.null(mods)) "" else paste0(", mods = ", mods), ", test = '", test, "', level = ",
                 level, extra, ")")
  msgs <- character(0)
  res <- withCallingHandlers(eval(parse(text = call), envir = d),
                             warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") })
  vars <- unique(c(cols, if (is.null(mods)) character(0) else all.vars(as.formula(mods))))
  input <- lapply(d[, vars, drop = FALSE], function(v) if (is.numeric(v)) num(v) else as.character(v))
  fs <- res$fit.stats
  # CM.EL: metafor's Hessian is numDeriv's of a likelihood computed by BiasedUrn's approximate density and
  # integrate() (rel.tol 1e-4); refitted with the exact density and rel.tol 1e-10 its se move towards bayesma's
  se_tight <- NULL
  if (model == "CM.EL" && measure == "OR") {
    tight <- list(dnchgcalc = "dnoncenhypergeom", intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L,
                                                                  lower = -Inf, upper = Inf))
    res2 <- suppressWarnings(eval(parse(text = sub(")$", ", control = tight)", call)), envir = c(as.list(d), tight = list(tight))))
    se_tight <- num(res2$se)
  }
  cases[[length(cases) + 1]] <<- list(
    name = name, kind = "rma_glmm", data = datanames[[data]], measure = measure, model = model, method = method,
    mods = mods, test = test, level = level, args = args, cols = cols, call = call, input = input,
    warnings = msgs,
    expect = list(
      beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), coef_names = rownames(res$beta),
      tau2 = num(res$tau2), sigma2 = num(res$sigma2),
      QE_Wld = num(res$QE.Wld), QEp_Wld = num(res$QEp.Wld), QE_LRT = num(res$QE.LRT),
      QEp_LRT = num(res$QEp.LRT), QE_df = num(res$QE.df), I2 = num(res$I2), H2 = num(res$H2),
      QM = num(res$QM), QMp = num(res$QMp), QMdf = num(res$QMdf), logLik = num(fs["ll", "ML"]),
      deviance = num(fs["dev", "ML"]), AIC = num(fs["AIC", "ML"]), BIC = num(fs["BIC", "ML"]),
      AICc = num(fs["AICc", "ML"]), k = num(res$k), vt = num(res$vt), se_tight = se_tight,
      printout = capture.output(print(res))
    )
  )
}
two <- c("ai", "bi", "ci", "di")
tab2 <- c("ai", "n1i", "ci", "n2i")
irr <- c("x1i", "t1i", "x2i", "t2i")
colargs <- "ai = b.xti, n1i = nti, ci = b.xci, n2i = nci"
add("collins1985a_UMFS", "col", colargs, c("b.xti", "nti", "b.xci", "nci"), tab2, "OR")
add("collins1985a_CMEL", "col", colargs, c("b.xti", "nti", "b.xci", "nci"), tab2, "OR", "CM.EL")
add("nielweise2007_UMRS", "nw7", "ai = ai, n1i = n1i, ci = ci, n2i = n2i", tab2, tab2, "OR", "UM.RS")
add("nielweise2007_CMAL_year", "nw7", "ai = ai, n1i = n1i, ci = ci, n2i = n2i", c(tab2, "year"), tab2, "OR",
    "CM.AL", mods = "~ year")
add("yusuf1985_UMFS_t", "yus", "ai = ai, n1i = n1i, ci = ci, n2i = n2i", tab2, tab2, "OR", test = "t")
add("hine1989_CMEL_FE", "hine", "ai = ai, n1i = n1i, ci = ci, n2i = n2i", tab2, tab2, "OR", "CM.EL", method = "FE")
add("hine1989_UMRS_level90", "hine", "ai = ai, n1i = n1i, ci = ci, n2i = n2i", tab2, tab2, "OR", "UM.RS",
    level = 90)
add("hart1999_IRR_UMFS_compgrp", "hart", "x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i", irr, irr, "IRR",
    mods = "~ compgrp")
add("hart1999_IRR_UMRS", "hart", "x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i", irr, irr, "IRR", "UM.RS")
add("hart1999_IRR_CMEL_prevtype_t", "hart", "x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i", irr, irr, "IRR",
    "CM.EL", mods = "~ prevtype", test = "t")
add("hart1999_IRLN_compgrp", "hart", "xi = x2i, ti = t2i", c("x2i", "t2i"), c("xi", "ti"), "IRLN",
    mods = "~ compgrp")
add("pritz1997_PLO", "pr", "xi = xi, ni = ni", c("xi", "ni"), c("xi", "ni"), "PLO")
add("bcg_PLO_ablat", "bcg", "xi = cpos, ni = cpos + cneg", c("cpos", "cneg", "ablat"), c("xi", "mi"), "PLO",
    mods = "~ ablat")
add("bcg_UMRS_year", "bcg", "ai = tpos, bi = tneg, ci = cpos, di = cneg", c("tpos", "tneg", "cpos", "cneg"), two,
    "OR", "UM.RS", mods = "~ year")
add("bcg_CMEL_alloc", "bcg", "ai = tpos, bi = tneg, ci = cpos, di = cneg", c("tpos", "tneg", "cpos", "cneg"), two,
    "OR", "CM.EL", mods = "~ alloc")
add("bcg_UMFS_ablat_FE", "bcg", "ai = tpos, bi = tneg, ci = cpos, di = cneg", c("tpos", "tneg", "cpos", "cneg"),
    two, "OR", method = "FE", mods = "~ ablat")
add("bcg_CMAL_ablat_t", "bcg", "ai = tpos, bi = tneg, ci = cpos, di = cneg", c("tpos", "tneg", "cpos", "cneg"), two,
    "OR", "CM.AL", mods = "~ ablat", test = "t")

# UM.RS at tau2 = 0 (dat.hart1999): lme4's se with the Laplace approximation (metafor's) and with 25 quadrature
# points for the one remaining random effect (the study intercept): bayesma's is the accurate one
h <- dat.hart1999
hd <- data.frame(y = c(h$x1i, h$x2i), t = c(h$t1i, h$t2i), g1 = rep(c(1, 0), each = 6), study = factor(rep(1:6, 2)))
lme4_se <- sapply(c(1, 25), function(q) {
  f <- lme4::glmer(y ~ g1 + offset(log(t)) + (1 | study), family = poisson, data = hd, nAGQ = q,
                   control = lme4::glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10)))
  unname(sqrt(diag(as.matrix(vcov(f))))[2])
})
cases[[length(cases) + 1]] <- list(
  name = "hart1999_IRR_UMRS_tau0_lme4", kind = "lme4_check", data = "dat.hart1999",
  call = "glmer(y ~ g1 + offset(log(t)) + (1 | study), family = poisson, nAGQ = 1 / 25)",
  expect = list(se_laplace = lme4_se[1], se_nAGQ25 = lme4_se[2]))

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        lme4 = as.character(packageVersion("lme4")),
                        BiasedUrn = as.character(packageVersion("BiasedUrn"))),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(here, "metafor_glmm_more.json"))
