# Influence diagnostics of rma.mv fits: cooks.distance, dfbetas, rstudent, rstandard and hatvalues
# (metafor's *.rma.mv methods), with and without cluster=, with reestimate = TRUE and FALSE, on
# three dependent-effects models: the three-level model of dat.konstantopoulos2011 (cluster =
# district), the CHE model of dat.assink2016 (V from vcalc with rho = 0.6, cluster = study; also
# with a moderator whose level vanishes with some studies), and the UN model across two outcomes of
# dat.berkey1998 (cluster = trial). For each cluster also the fit without it (rma.mv(subset=),
# started at the full fit's estimates, as the methods do): its logLik, components and coefficients.
#
# Run:  Rscript tests/data/reference/metafor/metafor_mv_influence.R   (writes metafor_mv_influence.json beside it)
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

num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))
df_input <- function(d, cols) {
  out <- lapply(cols, function(cl) { x <- d[[cl]]; if (is.factor(x)) x <- as.character(x); x })
  names(out) <- cols
  out
}

obs_list <- function(r) list(resid = num(r$resid), se = num(r$se), z = num(r$z))
clus_list <- function(r) list(X2 = num(r$X2), k = num(r$k), ids = as.character(r$slab))

diagnostics <- function(res, cl) {
  out <- list(hat = num(hatvalues(res)))
  rs <- rstandard(res)
  out$rstandard <- obs_list(rs)
  rsc <- rstandard(res, cluster = cl)
  out$rstandard_cluster <- list(obs = obs_list(rsc$obs), cluster = clus_list(rsc$cluster))
  for (re in c(TRUE, FALSE)) {
    tag <- if (re) "reestimate" else "fixed"
    cd <- cooks.distance(res, cluster = cl, reestimate = re)
    db <- dfbetas(res, cluster = cl, reestimate = re)
    rt <- rstudent(res, cluster = cl, reestimate = re)
    cd1 <- cooks.distance(res, reestimate = re)
    db1 <- dfbetas(res, reestimate = re)
    rt1 <- rstudent(res, reestimate = re)
    out[[tag]] <- list(
      cluster = list(ids = names(cd), cooks = num(cd), dfbetas = mat(as.matrix(db)),
                     rstudent_obs = obs_list(rt$obs), rstudent_cluster = clus_list(rt$cluster)),
      obs = list(cooks = num(cd1), dfbetas = mat(as.matrix(db1)), rstudent = obs_list(rt1)))
  }
  out
}

# each cluster left out, as the methods refit it (subset, started at the full fit's estimates)
deleted_fits <- function(res, cl, refit) {
  ids <- sort(unique(cl))
  lapply(ids, function(id) {
    r <- try(suppressWarnings(refit(cl != id, res)), silent = TRUE)
    if (inherits(r, "try-error") || any(r$coef.na)) return(list(id = as.character(id), ok = FALSE))
    list(id = as.character(id), ok = TRUE, logLik = as.numeric(logLik(r)), beta = num(r$beta),
         sigma2 = num(r$sigma2), tau2 = num(r$tau2), rho = num(r$rho))
  })
}

init <- function(res) list(sigma2.init = res$sigma2, tau2.init = res$tau2, rho.init = res$rho)

cases <- list()

# ---------------------------------------------------------------- konstantopoulos2011: three-level
dat <- dat.konstantopoulos2011
res <- rma.mv(yi, vi, random = ~ 1 | district/school, data = dat)
cases[[length(cases) + 1]] <- list(
  name = "konstantopoulos2011_three_level", data = "dat.konstantopoulos2011",
  call = "rma.mv(yi, vi, random = ~ 1 | district/school)", cluster = "district",
  input = df_input(dat, c("district", "school", "study", "year", "yi", "vi")),
  model = list(beta = num(res$beta), sigma2 = num(res$sigma2), logLik = as.numeric(logLik(res))),
  expect = diagnostics(res, dat$district),
  deleted = deleted_fits(res, dat$district, function(keep, res)
    rma.mv(yi, vi, random = ~ 1 | district/school, data = dat, subset = keep, control = init(res))))

# ---------------------------------------------------------------- assink2016: CHE, rho = 0.6
dat <- dat.assink2016
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = dat)
res <- rma.mv(yi, V, random = ~ 1 | study/esid, data = dat)
cases[[length(cases) + 1]] <- list(
  name = "assink2016_che_rho06", data = "dat.assink2016",
  call = "V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6); rma.mv(yi, V, random = ~ 1 | study/esid)",
  cluster = "study", rho = 0.6,
  input = df_input(dat, c("study", "esid", "yi", "vi", "deltype", "year")),
  model = list(beta = num(res$beta), sigma2 = num(res$sigma2), logLik = as.numeric(logLik(res))),
  expect = diagnostics(res, dat$study),
  deleted = deleted_fits(res, dat$study, function(keep, res)
    rma.mv(yi, V[keep, keep], random = ~ 1 | study/esid, data = dat[keep, ], control = init(res))))

res <- rma.mv(yi, V, mods = ~ deltype + year, random = ~ 1 | study/esid, method = "ML", data = dat)
cases[[length(cases) + 1]] <- list(
  name = "assink2016_che_rho06_deltype_year_ML", data = "dat.assink2016",
  call = "V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6); rma.mv(yi, V, mods = ~ deltype + year, random = ~ 1 | study/esid, method = 'ML')",
  cluster = "study", rho = 0.6, mods = "~ deltype + year", method = "ML",
  input = df_input(dat, c("study", "esid", "yi", "vi", "deltype", "year")),
  model = list(beta = num(res$beta), sigma2 = num(res$sigma2), logLik = as.numeric(logLik(res)),
               coef_names = rownames(res$beta)),
  expect = diagnostics(res, dat$study),
  deleted = deleted_fits(res, dat$study, function(keep, res)
    rma.mv(yi, V[keep, keep], mods = ~ deltype + year, random = ~ 1 | study/esid, method = "ML",
           data = dat[keep, ], control = init(res))))

# ---------------------------------------------------------------- berkey1998: UN across two outcomes
dat <- dat.berkey1998
V <- vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i), data = dat)
res <- rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN", data = dat)
cases[[length(cases) + 1]] <- list(
  name = "berkey1998_UN", data = "dat.berkey1998",
  call = "V <- vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i)); rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'UN')",
  cluster = "trial", mods = "~ outcome - 1", random = "~ outcome | trial", struct = "UN",
  input = c(df_input(dat, c("trial", "outcome", "yi", "vi", "v1i", "v2i", "year")), list(V = mat(V))),
  model = list(beta = num(res$beta), tau2 = num(res$tau2), rho = num(res$rho), logLik = as.numeric(logLik(res)),
               coef_names = rownames(res$beta)),
  expect = diagnostics(res, dat$trial),
  deleted = deleted_fits(res, dat$trial, function(keep, res)
    rma.mv(yi, V[keep, keep], mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN",
           data = dat[keep, ], control = init(res))))

out <- list(meta = list(script = "metafor_mv_influence.R", R = R.version.string,
                        metafor = as.character(packageVersion("metafor")), date = as.character(Sys.Date())),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(here, "metafor_mv_influence.json"))
cat("wrote", file.path(here, "metafor_mv_influence.json"), "\n")
