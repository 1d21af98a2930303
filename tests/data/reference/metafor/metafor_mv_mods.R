# Reference values for the multivariate model across outcomes with moderators:
# rma.mv(yi, V, mods = <formula>, random = ~ outcome | trial, struct = ...) on dat.berkey1998
# (two outcomes, five trials; V from the trials' reported covariances), ML and REML.
#
# Run:  Rscript tests/data/reference/metafor/metafor_mv_mods.R   (writes metafor_mv_mods.json beside it)
# Made with R 4.2.2, metafor 3.8.1, metadat 1.2-0 (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

here <- tryCatch(dirname(normalizePath(sys.frame(1)$ofile)), error = function(e) NULL)
if (is.null(here)) {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  here <- dirname(normalizePath(f))
}

num <- function(x) unname(as.numeric(x))
mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))

dat <- dat.berkey1998
V <- vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i), data = dat)
input <- list(trial = dat$trial, outcome = as.character(dat$outcome), yi = dat$yi, vi = dat$vi,
              year = dat$year, V = mat(V))

cases <- list()
for (struct in c("CS", "HCS")) {
  for (mods in c("~ 0 + outcome + outcome:I(year - 1983)", "~ 0 + outcome + I(year - 1983)",
                 "~ outcome + I(year - 1983)", "~ I(year - 1983)")) {
    for (method in c("ML", "REML")) {
      res <- rma.mv(yi, V, mods = as.formula(mods), random = ~ outcome | trial, struct = struct,
                    data = dat, method = method)
      cases[[length(cases) + 1]] <- list(
        name = paste("berkey1998", struct, method, mods),
        args = list(mods = mods, struct = struct, method = method),
        expect = list(beta = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
                      coef_names = rownames(res$beta), tau2 = num(res$tau2), rho = num(res$rho),
                      logLik = as.numeric(logLik(res)))
      )
    }
  }
}

# the CHE counterpart of a model whose formula has no intercept (coefficients named by outcome)
dat$obs <- seq_len(nrow(dat))
res <- rma.mv(yi, V, mods = ~ 0 + outcome, random = ~ 1 | trial/obs, data = dat, method = "REML")
cases[[length(cases) + 1]] <- list(
  name = "berkey1998 CHE REML ~ 0 + outcome",
  args = list(mods = "~ 0 + outcome", random = "~ 1 | trial/obs", method = "REML"),
  expect = list(beta = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
                coef_names = rownames(res$beta), sigma2 = num(res$sigma2), logLik = as.numeric(logLik(res)))
)

out <- list(
  meta = list(r = R.version.string, metafor = as.character(packageVersion("metafor")),
              data = "dat.berkey1998", V = "vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i))"),
  input = input,
  cases = cases
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "metafor_mv_mods.json"))
