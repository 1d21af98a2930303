# The hat matrix of rma.mv fits: hatvalues(res, type = "matrix") and type = "diagonal" (metafor's
# hatvalues.rma.mv), on four dependent-effects models: the three-level model of
# dat.konstantopoulos2011 (also with two effects made missing, which rma.mv drops: the matrix is of
# the fitted effects), the CHE model of dat.assink2016 (V from vcalc with rho = 0.6; also an ML fit
# with ~ deltype + year) and the UN model across two outcomes of dat.berkey1998.
#
# Run:  Rscript tests/data/reference/metafor/metafor_mv_hat.R   (writes metafor_mv_hat.json beside it)
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

hat_case <- function(name, call, res, input, extra = list()) {
  H <- hatvalues(res, type = "matrix")
  c(list(name = name, call = call, input = input,
         model = list(beta = num(res$beta), logLik = as.numeric(logLik(res))),
         expect = list(matrix = mat(H), labels = rownames(H), diagonal = num(hatvalues(res)))), extra)
}

cases <- list()

dat <- dat.konstantopoulos2011
res <- rma.mv(yi, vi, random = ~ 1 | district/school, data = dat)
cases[[length(cases) + 1]] <- hat_case("konstantopoulos2011_three_level",
  "rma.mv(yi, vi, random = ~ 1 | district/school)", res,
  df_input(dat, c("district", "school", "study", "year", "yi", "vi")))

dat2 <- dat
dat2$yi[c(3, 20)] <- NA
res <- suppressWarnings(rma.mv(yi, vi, random = ~ 1 | district/school, data = dat2))
cases[[length(cases) + 1]] <- hat_case("konstantopoulos2011_three_level_two_missing",
  "rma.mv(yi, vi, random = ~ 1 | district/school) with yi[c(3, 20)] <- NA (dropped)", res,
  df_input(dat2, c("district", "school", "study", "year", "yi", "vi")))

dat <- dat.assink2016
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = dat)
res <- rma.mv(yi, V, random = ~ 1 | study/esid, data = dat)
cases[[length(cases) + 1]] <- hat_case("assink2016_che_rho06",
  "V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6); rma.mv(yi, V, random = ~ 1 | study/esid)", res,
  df_input(dat, c("study", "esid", "yi", "vi", "deltype", "year")), list(rho = 0.6))

res <- rma.mv(yi, V, mods = ~ deltype + year, random = ~ 1 | study/esid, method = "ML", data = dat)
cases[[length(cases) + 1]] <- hat_case("assink2016_che_rho06_deltype_year_ML",
  "rma.mv(yi, V, mods = ~ deltype + year, random = ~ 1 | study/esid, method = 'ML')", res,
  df_input(dat, c("study", "esid", "yi", "vi", "deltype", "year")),
  list(rho = 0.6, mods = "~ deltype + year", method = "ML"))

dat <- dat.berkey1998
V <- vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i), data = dat)
res <- rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN", data = dat)
cases[[length(cases) + 1]] <- hat_case("berkey1998_UN",
  "rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = 'UN')", res,
  c(df_input(dat, c("trial", "outcome", "yi", "vi")), list(V = mat(V))))

out <- list(meta = list(script = "metafor_mv_hat.R", R = R.version.string,
                        metafor = as.character(packageVersion("metafor")), date = as.character(Sys.Date())),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(here, "metafor_mv_hat.json"))
cat("wrote", file.path(here, "metafor_mv_hat.json"), "\n")
