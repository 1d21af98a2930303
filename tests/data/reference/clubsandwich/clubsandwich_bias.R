# References for publication-bias tests on dependent effects: the "Egger sandwich" (Rodgers &
# Pustejovsky 2021: the standard error as a moderator of the multilevel model, CR2 test with
# Satterthwaite df) and multilevel PET (mods = ~ sqrt(vi)) and PEESE (mods = ~ vi), with
# clubSandwich's coef_test and conf_int on each fit.
#
# Run:  Rscript tests/data/reference/clubsandwich/clubsandwich_bias.R   (writes clubsandwich_bias.json beside it)
# Made with R 4.2.2, metafor 3.8.1, clubSandwich 0.5.8, metadat 1.2-0 (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) unname(as.numeric(x))

fit_expect <- function(res, cluster) {
  ct <- coef_test(res, vcov = "CR2", cluster = cluster)
  ci <- conf_int(res, vcov = "CR2", cluster = cluster, level = 0.95)
  list(beta = num(res$beta), sigma2 = num(res$sigma2), logLik = as.numeric(logLik(res)),
       coef_names = rownames(res$beta), se = num(ct$SE), tstat = num(ct$tstat), df = num(ct$df_Satt),
       pval = num(ct$p_Satt), ci_lb = num(ci$CI_L), ci_ub = num(ci$CI_U))
}

cases <- list()
add_case <- function(name, dat, V, random, cluster_name, input) {
  cl <- dat[[cluster_name]]
  egger <- rma.mv(yi, V, mods = ~ sqrt(vi), random = random, data = dat)
  peese <- rma.mv(yi, V, mods = ~ vi, random = random, data = dat)
  base <- rma.mv(yi, V, random = random, data = dat)
  cases[[length(cases) + 1]] <<- list(
    name = name, random = deparse(random), cluster = cluster_name, input = input,
    expect = list(model = fit_expect(base, cl), egger = fit_expect(egger, cl), peese = fit_expect(peese, cl)))
}

dat <- dat.assink2016
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = dat)
add_case("assink2016_che_rho06", dat, V, ~ 1 | study/esid, "study",
         list(study = dat$study, esid = dat$esid, yi = dat$yi, vi = dat$vi))

dat <- dat.konstantopoulos2011
add_case("konstantopoulos2011_three_level", dat, dat$vi, ~ 1 | district/school, "district",
         list(district = dat$district, school = dat$school, yi = dat$yi, vi = dat$vi))

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        clubSandwich = as.character(packageVersion("clubSandwich")),
                        date = as.character(Sys.Date()), script = "tests/data/reference/clubsandwich/clubsandwich_bias.R"),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE), file.path(here, "clubsandwich_bias.json"))
