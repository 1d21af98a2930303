# Cluster-robust references for bayesma's rve module: robust() and clubSandwich's coef_test/Wald_test
# on fits that need no V matrix (three-level rma.mv with vi, rma.uni), the CR1 of metafor on
# a Knapp-Hartung fit, and Wald tests by name with several tests.
#
# Run:  Rscript tests/data/reference/clubsandwich/clubsandwich_rve.R   (writes clubsandwich_rve.json beside it)
# Made with R 4.2.2, metafor 3.8.1, clubSandwich 0.5.8, metadat 1.2-0 (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))

num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))
robust_expect <- function(rob) {
  list(se = num(rob$se), tval = num(rob$zval), df = num(rob$ddf), pval = num(rob$pval),
       ci_lb = num(rob$ci.lb), ci_ub = num(rob$ci.ub), QM = num(rob$QM), QMp = num(rob$QMp),
       QMdf = num(rob$QMdf), vb = mat(rob$vb))
}
coef_all <- function(res, cluster) {
  out <- lapply(c("CR0", "CR1", "CR1p", "CR1S", "CR2", "CR3"), function(v) {
    ct <- tryCatch(coef_test(res, vcov = v, cluster = cluster, test = "All"), error = function(e) NULL)
    if (is.null(ct)) return(NULL)  # e.g. CR3 when I - H_jj is singular
    list(vcov = v, beta = num(ct$beta), se = num(ct$SE), tstat = num(ct$tstat), df_Satt = num(ct$df_Satt),
         p_Satt = num(ct$p_Satt), p_z = num(ct$p_z), p_t = num(ct$p_t), p_tp = num(ct$p_tp))
  })
  Filter(Negate(is.null), out)
}
wald_all <- function(res, cluster, coefs) {
  out <- list()
  for (v in c("CR0", "CR2", "CR3")) {
    wt <- tryCatch(Wald_test(res, constraints = constrain_zero(coefs), vcov = v, cluster = cluster,
                    test = c("chi-sq", "Naive-F", "Naive-Fp", "HTZ")),
                   error = function(e) NULL)
    if (is.null(wt)) next
    out[[length(out) + 1]] <- list(coefs = coefs, vcov = v, test = wt$test, Fstat = num(wt$Fstat),
                                   delta = num(wt$delta), df_num = num(wt$df_num),
                                   df_denom = num(wt$df_denom), p_val = num(wt$p_val))
  }
  out
}
cases <- list()

# three-level model with vi only (bayesma's rma_mv(cluster=)), intercept and a moderator
dat <- dat.konstantopoulos2011
for (mods in list(NULL, ~ year)) {
  res <- if (is.null(mods)) rma.mv(yi, vi, random = ~ 1 | district/school, data = dat)
         else rma.mv(yi, vi, mods = mods, random = ~ 1 | district/school, data = dat)
  case <- list(name = paste0("konstantopoulos2011_", if (is.null(mods)) "intercept" else "year"),
               kind = "mv3", mods = if (is.null(mods)) NULL else deparse(mods), cluster = "district",
               input = list(district = dat$district, school = dat$school, year = dat$year, yi = dat$yi, vi = dat$vi),
               expect = list(beta = num(res$beta), sigma2 = num(res$sigma2),
                             robust_cr1 = robust_expect(robust(res, cluster = district)),
                             robust_cr0 = robust_expect(robust(res, cluster = district, adjust = FALSE)),
                             robust_cr2 = robust_expect(robust(res, cluster = district, clubSandwich = TRUE)),
                             coef_tests = coef_all(res, dat$district)))
  if (!is.null(mods)) case$expect$wald <- wald_all(res, dat$district, 2)
  cases[[length(cases) + 1]] <- case
}

# assink2016 three-level (vi only) with deltype: Wald tests on two coefficients
dat <- dat.assink2016
res <- rma.mv(yi, vi, mods = ~ deltype, random = ~ 1 | study/esid, data = dat)
cases[[length(cases) + 1]] <- list(
  name = "assink2016_mv3_deltype", kind = "mv3", mods = "~ deltype", cluster = "study",
  input = list(study = dat$study, esid = dat$esid, deltype = as.character(dat$deltype), yi = dat$yi, vi = dat$vi),
  expect = list(beta = num(res$beta), sigma2 = num(res$sigma2),
                robust_cr1 = robust_expect(robust(res, cluster = study)),
                robust_cr2 = robust_expect(robust(res, cluster = study, clubSandwich = TRUE)),
                coef_tests = coef_all(res, dat$study), wald = wald_all(res, dat$study, 2:3)))

# rma.uni (REML, and Knapp-Hartung) with a cluster column: bcg trials clustered by allocation
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
for (test in c("z", "knha")) {
  res <- rma(yi, vi, mods = ~ ablat, data = dat, test = test)
  cases[[length(cases) + 1]] <- list(
    name = paste0("bcg_uni_ablat_", test), kind = "uni", mods = "~ ablat", test = test, cluster = "alloc",
    input = list(alloc = as.character(dat$alloc), ablat = dat$ablat, yi = as.numeric(dat$yi), vi = dat$vi),
    expect = list(beta = num(res$beta), tau2 = num(res$tau2),
                  robust_cr1 = robust_expect(robust(res, cluster = alloc)),
                  robust_cr2 = robust_expect(robust(res, cluster = alloc, clubSandwich = TRUE)),
                  coef_tests = coef_all(res, dat$alloc), wald = wald_all(res, dat$alloc, 2)))
}

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        clubSandwich = as.character(packageVersion("clubSandwich")),
                        date = as.character(Sys.Date()), script = "tests/data/reference/clubsandwich/clubsandwich_rve.R"),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE),
           file.path(here, "clubsandwich_rve.json"))
