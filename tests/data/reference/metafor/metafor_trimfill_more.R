# Reference values for trim-and-fill on fitted models (tester report item 2), made with metafor.
# Run from this directory:  Rscript metafor_trimfill_more.R   (writes metafor_trimfill_more.json)
# metafor's trimfill(res) uses the fitted model's estimator (method) in every step and for the
# final fit; here on REML, DL and FE fits of dat.hackshaw1998 and of the recidivism rows of the
# illustrative working-alliance data (examples/data/working_alliance_illustrative.csv; r and n
# converted to Cohen's d as `bayesma escalc R2D` does: d = 2r/sqrt(1-r^2), var = 4/((n-1)(1-r^2)),
# Borenstein et al. 2009). Inputs are stored, so the tests need no R.
suppressMessages({library(metafor); library(jsonlite)})

meta <- list(made = format(Sys.Date()), R = R.version.string,
             metafor = as.character(packageVersion("metafor")),
             script = "metafor_trimfill_more.R")
arr <- function(x) I(unname(as.numeric(x)))

hack <- dat.hackshaw1998
wa <- read.csv("../../../../examples/data/working_alliance_illustrative.csv")
rec <- wa[wa$outcome == "recidivism", ]
rec$yi <- 2 * rec$r / sqrt(1 - rec$r^2)
rec$vi <- 4 / ((rec$n - 1) * (1 - rec$r^2))
sets <- list(hackshaw = data.frame(yi = as.numeric(hack$yi), vi = as.numeric(hack$vi)),
             recidivism = data.frame(yi = as.numeric(rec$yi), vi = as.numeric(rec$vi)))

cases <- list()
for (set in names(sets)) {
  d <- sets[[set]]
  for (method in c("REML", "DL", "FE")) {
    for (estimator in c("L0", "R0")) {
      res <- rma(yi, vi, data = d, method = method)
      tf <- trimfill(res, estimator = estimator)
      cases[[length(cases) + 1]] <- list(
        name = paste(set, method, estimator, sep = "_"), data = set, method = method, estimator = estimator,
        input = as.list(d),
        expect = list(k0 = tf$k0, se_k0 = tf$se.k0, side = tf$side, beta = tf$beta[1], se = tf$se[1],
                      ci_lb = tf$ci.lb[1], ci_ub = tf$ci.ub[1], zval = tf$zval[1], pval = tf$pval[1],
                      tau2 = tf$tau2, k = tf$k, filled_yi = arr(tf$yi[!is.na(tf$fill) & tf$fill])))
    }
  }
}
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           "metafor_trimfill_more.json")
