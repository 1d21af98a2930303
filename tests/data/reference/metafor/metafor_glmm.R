# Reference values for metafor's rma.glmm (binomial-normal, Poisson-normal and conditional
# non-central hypergeometric models): models and measures beyond metafor_cases_v3.json's five.
#
# Run:  Rscript tests/data/reference/metafor/metafor_glmm.R   (writes metafor_glmm.json)
# Made with R 4.2.2, metafor 3.8.1, lme4, BiasedUrn (Debian packages).
#
# Each case stores its input columns, the R call and metafor's results (beta, se, ... one per
# coefficient, tau2, sigma2, QE_Wld, QE_LRT, I2, H2, QM, logLik, k).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))

bcg <- dat.bcg
nw <- dat.nielweise2008
pr <- dat.pritz1997
# a small made-up set of 2x2 tables with zero cells: one double-zero study (dropped), single
# zeros in either arm, one study where every patient in the control arm has the event
zc <- data.frame(
  study = c("A", "B", "C", "D", "E", "F", "G", "H"),
  ai = c(0, 2, 5, 0, 12, 3, 7, 1),
  n1i = c(30, 45, 60, 25, 80, 40, 50, 20),
  ci = c(0, 6, 9, 3, 20, 0, 11, 20),
  n2i = c(30, 44, 58, 27, 79, 41, 52, 20),
  dose = c(1, 2, 2, 1, 3, 1, 3, 2)
)
datasets <- list(bcg = bcg, nw = nw, pr = pr, zc = zc)

cases <- list()
add <- function(name, data, call, cols, args, measure, model, method = "ML", mods = NULL, nAGQ = NULL, test = "z",
                options = NULL) {
  d <- datasets[[data]]
  res <- eval(parse(text = call), envir = d)
  input <- lapply(d[, unique(c(cols, if (is.null(mods)) character(0) else all.vars(as.formula(mods)))), drop = FALSE],
                  function(v) if (is.numeric(v)) num(v) else as.character(v))
  if ("study" %in% names(d)) input$study <- as.character(d$study)
  cases[[length(cases) + 1]] <<- list(
    name = name, kind = "rma_glmm", measure = measure, model = model, method = method, mods = mods,
    nAGQ = nAGQ, test = test, options = options, args = args, cols = cols, call = call, input = input,
    expect = list(
      beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
      ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), coef_names = rownames(res$beta),
      tau2 = num(res$tau2), se_tau2 = num(res$se.tau2), sigma2 = num(res$sigma2),
      QE_Wld = num(res$QE.Wld), QEp_Wld = num(res$QEp.Wld), QE_LRT = num(res$QE.LRT),
      QEp_LRT = num(res$QEp.LRT), QE_df = num(res$QE.df), I2 = num(res$I2), H2 = num(res$H2),
      QM = num(res$QM), QMp = num(res$QMp), QMdf = num(res$QMdf), logLik = num(res$fit.stats["ll", "ML"]),
      AIC = num(res$fit.stats["AIC", "ML"]), k = num(res$k), vt = num(res$vt), rho = num(res$rho),
      yi = num(res$yi), vi = num(res$vi), slab = as.character(attr(res$yi, "slab"))
    )
  )
}
two <- c("ai", "bi", "ci", "di")
bcgcols <- c("tpos", "tneg", "cpos", "cneg")
r <- function(s) paste0("rma.glmm(", s, ")")
tabs <- "ai = tpos, bi = tneg, ci = cpos, di = cneg"
add("bcg_glmm_CMAL", "bcg", r(paste("measure = 'OR', model = 'CM.AL',", tabs)), bcgcols, two, "OR", "CM.AL")
add("bcg_glmm_UMFS_ablat", "bcg", r(paste("measure = 'OR', model = 'UM.FS',", tabs, ", mods = ~ ablat")),
    bcgcols, two, "OR", "UM.FS", mods = "~ ablat")
add("bcg_glmm_UMFS_alloc", "bcg", r(paste("measure = 'OR', model = 'UM.FS',", tabs, ", mods = ~ alloc")),
    bcgcols, two, "OR", "UM.FS", mods = "~ alloc")
# nlminb (metafor's default optimizer) stops without convergence here (tau2 is near 0): bobyqa
add("bcg_glmm_CMEL_ablat", "bcg", r(paste("measure = 'OR', model = 'CM.EL',", tabs,
                                          ", mods = ~ ablat, control = list(optimizer = 'bobyqa')")),
    bcgcols, two, "OR", "CM.EL", mods = "~ ablat")
add("bcg_glmm_UMRS_ablat", "bcg", r(paste("measure = 'OR', model = 'UM.RS',", tabs, ", mods = ~ ablat")),
    bcgcols, two, "OR", "UM.RS", mods = "~ ablat")
add("bcg_glmm_UMFS_ablat_t", "bcg", r(paste("measure = 'OR', model = 'UM.FS',", tabs, ", mods = ~ ablat, test = 't'")),
    bcgcols, two, "OR", "UM.FS", mods = "~ ablat", test = "t")
add("pritz1997_glmm_PLO_t", "pr", r("measure = 'PLO', xi = xi, ni = ni, test = 't'"), c("xi", "ni"),
    c("xi", "ni"), "PLO", "UM.FS", test = "t")
add("bcg_glmm_UMFS_FE", "bcg", r(paste("measure = 'OR', model = 'UM.FS', method = 'FE',", tabs)), bcgcols, two,
    "OR", "UM.FS", method = "FE")
add("bcg_glmm_UMRS_FE", "bcg", r(paste("measure = 'OR', model = 'UM.RS', method = 'FE',", tabs)), bcgcols, two,
    "OR", "UM.RS", method = "FE")
add("bcg_glmm_CMEL_FE", "bcg", r(paste("measure = 'OR', model = 'CM.EL', method = 'FE',", tabs)), bcgcols, two,
    "OR", "CM.EL", method = "FE")
add("bcg_glmm_CMAL_FE", "bcg", r(paste("measure = 'OR', model = 'CM.AL', method = 'FE',", tabs)), bcgcols, two,
    "OR", "CM.AL", method = "FE")
add("bcg_glmm_UMFS_nAGQ1", "bcg", r(paste("measure = 'OR', model = 'UM.FS', nAGQ = 1,", tabs)), bcgcols, two,
    "OR", "UM.FS", nAGQ = 1)
add("bcg_glmm_UMFS_nAGQ21", "bcg", r(paste("measure = 'OR', model = 'UM.FS', nAGQ = 21,", tabs)), bcgcols, two,
    "OR", "UM.FS", nAGQ = 21)
irr <- c("x1i", "t1i", "x2i", "t2i")
irrargs <- "x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i"
add("nielweise2008_glmm_IRR_UMRS", "nw", r(paste("measure = 'IRR', model = 'UM.RS',", irrargs)), irr, irr, "IRR",
    "UM.RS")
add("nielweise2008_glmm_IRR_CMEL", "nw", r(paste("measure = 'IRR', model = 'CM.EL',", irrargs)), irr, irr, "IRR",
    "CM.EL")
add("nielweise2008_glmm_IRR_FE", "nw", r(paste("measure = 'IRR', model = 'UM.FS', method = 'FE',", irrargs)), irr,
    irr, "IRR", "UM.FS", method = "FE")
add("nielweise2008_glmm_IRLN", "nw", r("measure = 'IRLN', xi = x1i, ti = t1i"), c("x1i", "t1i"), c("xi", "ti"),
    "IRLN", "UM.FS")
add("nielweise2008_glmm_IRLN_FE", "nw", r("measure = 'IRLN', xi = x1i, ti = t1i, method = 'FE'"), c("x1i", "t1i"),
    c("xi", "ti"), "IRLN", "UM.FS", method = "FE")
add("pritz1997_glmm_PLO_FE", "pr", r("measure = 'PLO', xi = xi, ni = ni, method = 'FE'"), c("xi", "ni"),
    c("xi", "ni"), "PLO", "UM.FS", method = "FE")
zcols <- c("ai", "n1i", "ci", "n2i")
zargs <- "ai = ai, n1i = n1i, ci = ci, n2i = n2i"
for (m in c("UM.FS", "UM.RS", "CM.EL", "CM.AL")) {
  add(paste0("zerocells_glmm_", sub(".", "", m, fixed = TRUE)), "zc",
      r(paste0("measure = 'OR', model = '", m, "', ", zargs)), zcols, zcols, "OR", m)
}
add("zerocells_glmm_UMFS_dose", "zc", r(paste0("measure = 'OR', model = 'UM.FS', ", zargs, ", mods = ~ dose")),
    zcols, zcols, "OR", "UM.FS", mods = "~ dose")

# coding= (how the group indicator enters the random effects) and cor= (UM.RS: correlated random
# intercept and slope); options holds the keyword arguments as bayesma spells them
for (cd in c("1", "0")) {
  for (m in c("UM.FS", "UM.RS")) {
    add(paste0("bcg_glmm_", sub(".", "", m, fixed = TRUE), "_coding", cd), "bcg",
        r(paste0("measure = 'OR', model = '", m, "', ", tabs, ", coding = ", cd)), bcgcols, two, "OR", m,
        options = list(coding = as.numeric(cd)))
  }
}
# lme4's default optimiser stops early on coding = 0 (it warns: max|grad| 0.003); with a tight bobyqa
# metafor's numbers move to the optimum (tau2 0.242183 -> 0.242137)
add("bcg_glmm_UMFS_coding0_tight", "bcg",
    r(paste("measure = 'OR', model = 'UM.FS',", tabs, ", coding = 0,",
            "control = list(glmerCtrl = list(optimizer = 'bobyqa', optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))")),
    bcgcols, two, "OR", "UM.FS", options = list(coding = 0))
add("bcg_glmm_UMRS_cor", "bcg", r(paste("measure = 'OR', model = 'UM.RS', cor = TRUE,", tabs)), bcgcols, two,
    "OR", "UM.RS", options = list(cor = TRUE))
add("bcg_glmm_UMRS_cor_coding1", "bcg", r(paste("measure = 'OR', model = 'UM.RS', cor = TRUE, coding = 1,", tabs)),
    bcgcols, two, "OR", "UM.RS", options = list(cor = TRUE, coding = 1))
add("bcg_glmm_UMRS_cor_ablat", "bcg", r(paste("measure = 'OR', model = 'UM.RS', cor = TRUE,", tabs, ", mods = ~ ablat")),
    bcgcols, two, "OR", "UM.RS", mods = "~ ablat", options = list(cor = TRUE))
add("nielweise2008_glmm_IRR_UMRS_cor", "nw", r(paste("measure = 'IRR', model = 'UM.RS', cor = TRUE,", irrargs)),
    irr, irr, "IRR", "UM.RS", options = list(cor = TRUE))
add("nielweise2008_glmm_IRR_UMFS_coding1", "nw", r(paste("measure = 'IRR', model = 'UM.FS', coding = 1,", irrargs)),
    irr, irr, "IRR", "UM.FS", options = list(coding = 1))
# add=, to=, drop00=: escalc's yi/vi (I2, H2, the study values) and, for drop00, which studies are fitted
add("zerocells_glmm_UMFS_add1_all", "zc", r(paste0("measure = 'OR', model = 'UM.FS', ", zargs, ", add = 1, to = 'all'")),
    zcols, zcols, "OR", "UM.FS", options = list(add = 1, to = "all"))
add("zerocells_glmm_CMEL_if0all", "zc", r(paste0("measure = 'OR', model = 'CM.EL', ", zargs, ", to = 'if0all'")),
    zcols, zcols, "OR", "CM.EL", options = list(to = "if0all"))
add("zerocells_glmm_UMRS_keep00", "zc", r(paste0("measure = 'OR', model = 'UM.RS', ", zargs, ", drop00 = FALSE")),
    zcols, zcols, "OR", "UM.RS", options = list(drop00 = FALSE))
add("zerocells_glmm_CMEL_keep00", "zc", r(paste0("measure = 'OR', model = 'CM.EL', ", zargs, ", drop00 = FALSE")),
    zcols, zcols, "OR", "CM.EL", options = list(drop00 = FALSE))
add("pritz1997_glmm_PLO_add_all", "pr", r("measure = 'PLO', xi = xi, ni = ni, add = 0.25, to = 'all'"), c("xi", "ni"),
    c("xi", "ni"), "PLO", "UM.FS", options = list(add = 0.25, to = "all"))
add("nielweise2008_glmm_IRR_CMEL_none", "nw", r(paste("measure = 'IRR', model = 'CM.EL', to = 'none',", irrargs)),
    irr, irr, "IRR", "CM.EL", options = list(to = "none"))
add("pritz1997_glmm_PLO_vtype_AV", "pr", r("measure = 'PLO', xi = xi, ni = ni, vtype = 'AV'"), c("xi", "ni"),
    c("xi", "ni"), "PLO", "UM.FS", options = list(vtype = "AV"))
# duplicated study labels are made unique (".1", ".2") as metafor's .make.unique
add("bcg_glmm_UMFS_slab_author", "bcg", r(paste("measure = 'OR', model = 'UM.FS',", tabs, ", slab = author")),
    c(bcgcols, "author"), two, "OR", "UM.FS", options = list(slab = "author"))
# measure = "RR" (experimental in metafor 3.8.1: binomial with a log link), UM.FS and UM.RS; lme4 stops early on
# UM.FS (max|grad| 0.005), so the UM.FS cases also come with a tight bobyqa; RD, PR, PLN are not offered
tight <- "control = list(glmerCtrl = list(optimizer = 'bobyqa', optCtrl = list(rhoend = 1e-12, maxfun = 1e5)))"
rrs <- list(c("UMFS", "model = 'UM.FS'", "UM.FS", "ML", NA), c("UMFS_tight", paste("model = 'UM.FS',", tight), "UM.FS", "ML", NA),
            c("UMRS", "model = 'UM.RS'", "UM.RS", "ML", NA), c("UMFS_FE", "model = 'UM.FS', method = 'FE'", "UM.FS", "FE", NA),
            c("UMFS_ablat_tight", paste("model = 'UM.FS', mods = ~ ablat,", tight), "UM.FS", "ML", "~ ablat"))
for (x in rrs) {
  add(paste0("bcg_glmm_RR_", x[1]), "bcg", r(paste("measure = 'RR',", tabs, ",", x[2])), bcgcols, two, "RR", x[3],
      method = x[4], mods = if (is.na(x[5])) NULL else x[5], options = setNames(list(), character(0)))
}

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        lme4 = as.character(packageVersion("lme4")),
                        BiasedUrn = as.character(packageVersion("BiasedUrn"))),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           file.path(here, "metafor_glmm.json"))
