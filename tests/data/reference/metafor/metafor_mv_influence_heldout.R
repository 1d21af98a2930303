# Held-out checks of the influence diagnostics of rma.mv fits (metafor's cooks.distance, dfbetas,
# rstudent, rstandard and hatvalues *.rma.mv methods) on data sets and options that the first
# reference (metafor_mv_influence.R) does not use:
#   crede2010_three_level_t   three-level model with a moderator and test = "t"
#                             (random = ~ 1 | studyid/sampleid), cluster = studyid; cooks with btt = 2
#   crede2010_sample_only     one random term (~ 1 | sid, sid = the sample) but clusters of a
#                             higher level (cluster = studyid)
#   crede2010_two_terms_sample_clusters   random = list(~ 1 | studyid, ~ 1 | sid), clusters of a
#                             lower level than the study term (cluster = sid)
#   bornmann2007_na           random = ~ 1 | study/obs, mods = ~ type, two yi set to NA (metafor
#                             drops them; cluster = the column of the original length)
#   kalaian1996_CS / _HCS     random = ~ outcome | study, struct = "CS" / "HCS", V from vcalc (rho 0.66)
#   ishak2007_AR              random = ~ time | study, struct = "AR" (long format), ML
#   kalaian1996_two_terms     several random terms: list(~ 1 | study, ~ outcome | study) (CS),
#                             cluster = study; and cluster = ets (higher than study)
# For each cluster also the fit without it (rma.mv(subset=), started at the full fit's estimates).
#
# Run:  Rscript tests/data/reference/metafor/metafor_mv_influence_heldout.R
#       (writes metafor_mv_influence_heldout.json beside it)
# Made with R 4.2.2, metafor 3.8.1, metadat (Debian packages).
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

safe <- function(expr) tryCatch(expr, error = function(e) NULL)  # metafor errors: null in the JSON

# per effect (no cluster=) only with the components held: the re-estimated per-effect refits are
# checked on other data by metafor_mv_influence.R (and take long here)
diagnostics <- function(res, cl, btt = NULL) {
  out <- list(hat = num(hatvalues(res)))
  out$rstandard <- obs_list(rstandard(res))
  rsc <- rstandard(res, cluster = cl)
  out$rstandard_cluster <- list(obs = obs_list(rsc$obs), cluster = clus_list(rsc$cluster))
  for (re in c(TRUE, FALSE)) {
    tag <- if (re) "reestimate" else "fixed"
    cd <- cooks.distance(res, cluster = cl, reestimate = re)
    db <- safe(mat(as.matrix(dfbetas(res, cluster = cl, reestimate = re))))
    rt <- rstudent(res, cluster = cl, reestimate = re)
    out[[tag]] <- list(cluster = list(ids = names(cd), cooks = num(cd), dfbetas = db,
                                      rstudent_obs = obs_list(rt$obs), rstudent_cluster = clus_list(rt$cluster)))
    if (!re) out[[tag]]$obs <- list(cooks = num(cooks.distance(res, reestimate = re)),
                                    dfbetas = safe(mat(as.matrix(dfbetas(res, reestimate = re)))),
                                    rstudent = obs_list(rstudent(res, reestimate = re)))
    if (!is.null(btt)) out[[tag]]$cluster$cooks_btt <- num(cooks.distance(res, cluster = cl, reestimate = re, btt = btt))
  }
  out
}

deleted_fits <- function(res, cl, refit) {
  ids <- sort(unique(cl))
  lapply(ids, function(id) {
    r <- try(suppressWarnings(refit(cl != id, res)), silent = TRUE)
    if (inherits(r, "try-error") || any(r$coef.na)) return(list(id = as.character(id), ok = FALSE))
    list(id = as.character(id), ok = TRUE, logLik = as.numeric(logLik(r)), beta = num(r$beta),
         sigma2 = num(r$sigma2), tau2 = num(r$tau2), rho = num(r$rho))
  })
}
init <- function(res) {
  out <- list()
  if (res$withS) out$sigma2.init <- res$sigma2
  if (res$withG) { out$tau2.init <- res$tau2; out$rho.init <- res$rho }
  out
}
model_info <- function(res) list(beta = num(res$beta), sigma2 = num(res$sigma2), tau2 = num(res$tau2),
                                 rho = num(res$rho), logLik = as.numeric(logLik(res)), coef_names = rownames(res$beta))

cases <- list()
add <- function(...) { cases[[length(cases) + 1]] <<- list(...); message(cases[[length(cases)]]$name) }

# ---------------------------------------------------------------- crede2010: three-level, moderator, t tests
dat <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.crede2010)
dat$sid <- paste(dat$studyid, dat$sampleid, sep = ".")
res <- rma.mv(yi, vi, mods = ~ criterion, random = ~ 1 | studyid/sampleid, test = "t", data = dat)
add(name = "crede2010_three_level_t", data = "dat.crede2010",
    call = "rma.mv(yi, vi, mods = ~ criterion, random = ~ 1 | studyid/sampleid, test = 't')",
    mods = "~ criterion", random = "~ 1 | studyid/sampleid", test = "t", cluster = "studyid", btt = 2,
    input = df_input(dat, c("studyid", "sampleid", "sid", "criterion", "yi", "vi")),
    model = model_info(res), expect = diagnostics(res, dat$studyid, btt = 2),
    deleted = deleted_fits(res, dat$studyid, function(keep, res)
      rma.mv(yi, vi, mods = ~ criterion, random = ~ 1 | studyid/sampleid, test = "t", data = dat,
             subset = keep, control = init(res))))

# one random term (samples), clusters of studies (a higher level than the random effect)
res <- rma.mv(yi, vi, random = ~ 1 | sid, data = dat)
add(name = "crede2010_sample_only", data = "dat.crede2010", call = "rma.mv(yi, vi, random = ~ 1 | sid)",
    random = "~ 1 | sid", cluster = "studyid",
    input = df_input(dat, c("studyid", "sampleid", "sid", "criterion", "yi", "vi")),
    model = model_info(res), expect = diagnostics(res, dat$studyid),
    deleted = deleted_fits(res, dat$studyid, function(keep, res)
      rma.mv(yi, vi, random = ~ 1 | sid, data = dat, subset = keep, control = init(res))))

# two crossed-style random terms, clusters of a lower level (samples) than the study term
res <- rma.mv(yi, vi, random = list(~ 1 | studyid, ~ 1 | sid), data = dat)
add(name = "crede2010_two_terms_sample_clusters", data = "dat.crede2010",
    call = "rma.mv(yi, vi, random = list(~ 1 | studyid, ~ 1 | sid))",
    random = c("~ 1 | studyid", "~ 1 | sid"), cluster = "sid",
    input = df_input(dat, c("studyid", "sampleid", "sid", "criterion", "yi", "vi")),
    model = model_info(res), expect = diagnostics(res, dat$sid),
    deleted = deleted_fits(res, dat$sid, function(keep, res)
      rma.mv(yi, vi, random = list(~ 1 | studyid, ~ 1 | sid), data = dat, subset = keep, control = init(res))))

# ---------------------------------------------------------------- bornmann2007: rows with NA in yi
dat <- escalc(measure = "OR", ai = waward, n1i = wtotal, ci = maward, n2i = mtotal, data = dat.bornmann2007)
dat$yi[c(5, 20)] <- NA
res <- suppressWarnings(rma.mv(yi, vi, mods = ~ type, random = ~ 1 | study/obs, data = dat))
add(name = "bornmann2007_na", data = "dat.bornmann2007",
    call = "yi[c(5, 20)] <- NA; rma.mv(yi, vi, mods = ~ type, random = ~ 1 | study/obs)",
    mods = "~ type", random = "~ 1 | study/obs", cluster = "study", na_rows = c(5, 20),
    input = df_input(dat, c("study", "obs", "type", "yi", "vi")),
    model = model_info(res), expect = diagnostics(res, dat$study),
    cluster_fitted_length_error = inherits(try(cooks.distance(res, cluster = dat$study[!is.na(dat$yi)]),
                                               silent = TRUE), "try-error"),
    deleted = list())
ok <- !is.na(dat$yi)
dk <- dat[ok, ]
cases[[length(cases)]]$deleted <- deleted_fits(res, dk$study, function(keep, res)
  rma.mv(yi, vi, mods = ~ type, random = ~ 1 | study/obs, data = dk, subset = keep, control = init(res)))
# a missing cluster value, even on a row dropped from the fit, is an error in metafor
cl2 <- dat$study; cl2[5] <- NA
cases[[length(cases)]]$na_cluster_on_dropped_row_error <- inherits(try(cooks.distance(res, cluster = cl2),
                                                                        silent = TRUE), "try-error")

# ---------------------------------------------------------------- kalaian1996: CS and HCS across two outcomes
dat <- dat.kalaian1996
V <- vcalc(vi, cluster = study, type = outcome, rho = 0.66, data = dat)
for (st in c("CS", "HCS")) {
  res <- rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study, struct = st, data = dat)
  add(name = paste0("kalaian1996_", st), data = "dat.kalaian1996",
      call = paste0("V <- vcalc(vi, cluster = study, type = outcome, rho = 0.66); rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | study, struct = '", st, "')"),
      mods = "~ outcome - 1", random = "~ outcome | study", struct = st, cluster = "study", btt = 1,
      input = c(df_input(dat, c("study", "outcome", "yi", "vi", "ets")), list(V = mat(V))),
      model = model_info(res), expect = diagnostics(res, dat$study, btt = 1),
      deleted = deleted_fits(res, dat$study, function(keep, res)
        rma.mv(yi, V[keep, keep], mods = ~ outcome - 1, random = ~ outcome | study, struct = st,
               data = dat[keep, ], control = init(res))))
}

# several random terms; clusters of study and of ets (higher than study)
res <- rma.mv(yi, V, mods = ~ outcome - 1, random = list(~ 1 | id, ~ outcome | study), struct = "CS", data = dat)
add(name = "kalaian1996_two_terms", data = "dat.kalaian1996",
    call = "rma.mv(yi, V, mods = ~ outcome - 1, random = list(~ 1 | id, ~ outcome | study), struct = 'CS')",
    mods = "~ outcome - 1", random = c("~ 1 | id", "~ outcome | study"), struct = "CS", cluster = "study",
    input = c(df_input(dat, c("id", "study", "outcome", "yi", "vi", "ets")), list(V = mat(V))),
    model = model_info(res), expect = diagnostics(res, dat$study),
    expect_ets = list(cooks = num(cooks.distance(res, cluster = dat$ets)),
                      ids = names(cooks.distance(res, cluster = dat$ets)),
                      dfbetas = safe(mat(as.matrix(dfbetas(res, cluster = dat$ets)))),
                      rstudent_X2 = num(rstudent(res, cluster = dat$ets)$cluster$X2),
                      cooks_fixed = num(cooks.distance(res, cluster = dat$ets, reestimate = FALSE))),
    deleted = deleted_fits(res, dat$study, function(keep, res)
      rma.mv(yi, V[keep, keep], mods = ~ outcome - 1, random = list(~ 1 | id, ~ outcome | study), struct = "CS",
             data = dat[keep, ], control = init(res))))

# ---------------------------------------------------------------- ishak2007: AR over time (long format)
dat <- reshape(dat.ishak2007, direction = "long", idvar = "study", v.names = c("yi", "vi"),
               varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
dat <- dat[order(dat$study, dat$time), ]
dat <- dat[!is.na(dat$yi), ]
rownames(dat) <- NULL
res <- rma.mv(yi, vi, mods = ~ factor(time) - 1, random = ~ time | study, struct = "AR", method = "ML", data = dat)
add(name = "ishak2007_AR", data = "dat.ishak2007",
    call = "long format; rma.mv(yi, vi, mods = ~ factor(time) - 1, random = ~ time | study, struct = 'AR', method = 'ML')",
    mods = "~ C(time) - 1", random = "~ time | study", struct = "AR", method = "ML", cluster = "study",
    input = df_input(dat, c("study", "time", "yi", "vi")),
    model = model_info(res), expect = diagnostics(res, dat$study),
    deleted = deleted_fits(res, dat$study, function(keep, res)
      rma.mv(yi, vi, mods = ~ factor(time) - 1, random = ~ time | study, struct = "AR", method = "ML",
             data = dat, subset = keep, control = init(res))))

out <- list(meta = list(script = "metafor_mv_influence_heldout.R", R = R.version.string,
                        metafor = as.character(packageVersion("metafor")), date = as.character(Sys.Date())),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(here, "metafor_mv_influence_heldout.json"))
cat("wrote", file.path(here, "metafor_mv_influence_heldout.json"), "\n")
