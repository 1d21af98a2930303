# Reference values for dependent effect sizes beyond metafor_cases_v3.json:
# more random structures (HCS, DIAG, HAR, UN with ML), fixed variance components, other rho values,
# clubSandwich's CR0/CR1/CR1S/CR2/CR3 and Wald tests, vcalc with type/time1, and data of the
# motivating analysis's shape (three outcomes from 21 studies, synthetic, made here with a seed).
#
# Run:  Rscript tests/data/reference/metafor/metafor_mv_more.R   (writes metafor_mv_more.json beside it)
# Made with R 4.2.2, metafor 3.8.1, clubSandwich 0.5.8, metadat 1.2-0 (Debian packages).
suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

here <- tryCatch(dirname(normalizePath(sys.frame(1)$ofile)), error = function(e) NULL)
if (is.null(here)) {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  here <- dirname(normalizePath(f))
}

cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

num <- function(x) if (is.null(x)) NULL else unname(as.numeric(x))
mat <- function(m) unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ])))

model_expect <- function(res) {
  list(
    beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
    ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), coef_names = rownames(res$beta),
    sigma2 = num(res$sigma2), tau2 = num(res$tau2), rho = num(res$rho),
    gamma2 = num(res$gamma2), phi = num(res$phi),
    QE = num(res$QE), QEp = num(res$QEp), QM = num(res$QM), QMp = num(res$QMp),
    logLik = as.numeric(logLik(res)), vb = mat(res$vb), test = res$test,
    ddf = num(res$ddf)
  )
}

robust_expect <- function(rob) {
  list(beta = num(rob$beta), se = num(rob$se), tval = num(rob$zval), df = num(rob$ddf),
       pval = num(rob$pval), ci_lb = num(rob$ci.lb), ci_ub = num(rob$ci.ub),
       QM = num(rob$QM), QMp = num(rob$QMp), QMdf = num(rob$QMdf), vb = mat(rob$vb))
}

coef_expect <- function(res, vcov, cluster = NULL) {
  ct <- if (is.null(cluster)) coef_test(res, vcov = vcov) else coef_test(res, vcov = vcov, cluster = cluster)
  list(vcov = vcov, beta = num(ct$beta), se = num(ct$SE), tstat = num(ct$tstat),
       df = num(ct$df_Satt), pval = num(ct$p_Satt))
}

wald_expect <- function(res, coefs, vcov, test) {
  wt <- Wald_test(res, constraints = constrain_zero(coefs), vcov = vcov, test = test)
  list(coefs = coefs, vcov = vcov, test = test, Fstat = num(wt$Fstat), df_num = num(wt$df_num),
       df_denom = num(wt$df_denom), pval = num(wt$p_val))
}

df_input <- function(d, cols) {
  out <- lapply(cols, function(cl) {
    x <- d[[cl]]
    if (is.factor(x)) x <- as.character(x)
    x
  })
  names(out) <- cols
  out
}

# ---------------------------------------------------------------- berkey1998: other structures
dat <- dat.berkey1998
V <- vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i), data = dat)
bcols <- c("trial", "outcome", "yi", "vi", "v1i", "v2i", "year")
for (spec in list(list(struct = "HCS", method = "REML"), list(struct = "DIAG", method = "REML"),
                  list(struct = "UN", method = "ML"), list(struct = "CS", method = "ML"),
                  list(struct = "ID", method = "REML"))) {
  res <- rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = spec$struct,
                method = spec$method, data = dat)
  add(list(name = paste0("berkey1998_", spec$struct, "_", spec$method), kind = "rma_mv_V",
           call = sprintf("rma.mv(yi, V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = '%s', method = '%s'); V from vcalc(vi = 1, cluster = trial, rvars = c(v1i, v2i))", spec$struct, spec$method),
           struct = spec$struct, method = spec$method, mods = "~ outcome - 1", random = "~ outcome | trial",
           input = c(df_input(dat, bcols), list(V = mat(V))), expect = model_expect(res)))
}
# meta-regression on year across outcomes, UN, with t tests
res <- rma.mv(yi, V, mods = ~ outcome + outcome:I(year - 1983) - 1, random = ~ outcome | trial,
              struct = "UN", test = "t", data = dat)
add(list(name = "berkey1998_UN_year_t", kind = "rma_mv_V",
         call = "rma.mv(yi, V, mods = ~ outcome + outcome:I(year - 1983) - 1, random = ~ outcome | trial, struct = 'UN', test = 't')",
         struct = "UN", method = "REML", mods = "~ outcome + outcome:I(year - 1983) - 1", random = "~ outcome | trial", test = "t",
         input = c(df_input(dat, bcols), list(V = mat(V))), expect = model_expect(res)))

# ---------------------------------------------------------------- ishak2007: HAR and AR, long form
dat <- dat.ishak2007
dat.long <- reshape(dat, direction = "long", idvar = "study", v.names = c("yi", "vi"),
                    varying = list(c(2, 4, 6, 8), c(3, 5, 7, 9)))
dat.long <- dat.long[order(dat.long$study, dat.long$time), ]
dat.long <- dat.long[!is.na(dat.long$yi), ]
rownames(dat.long) <- NULL
for (st in c("HAR", "AR")) {
  res <- rma.mv(yi, vi, mods = ~ factor(time) - 1, random = ~ time | study, struct = st, data = dat.long)
  add(list(name = paste0("ishak2007_", st), kind = "rma_mv_V",
           call = sprintf("rma.mv(yi, vi, mods = ~ factor(time) - 1, random = ~ time | study, struct = '%s')", st),
           struct = st, method = "REML", mods = "~ factor(time) - 1", random = "~ time | study",
           input = df_input(dat.long, c("study", "time", "yi", "vi")), expect = model_expect(res)))
}
# V with autocorrelated sampling errors over time (vcalc time1/phi) and an AR random structure
Vt <- vcalc(vi, cluster = study, time1 = time, phi = 0.97, data = dat.long)
add(list(name = "vcalc_ishak_time_phi", kind = "vcalc", call = "vcalc(vi, cluster = study, time1 = time, phi = 0.97)",
         args = list(vi = "vi", cluster = "study", time1 = "time", phi = 0.97),
         input = df_input(dat.long, c("study", "time", "vi")), expect = list(V = mat(Vt))))
res <- rma.mv(yi, Vt, mods = ~ factor(time) - 1, random = ~ time | study, struct = "AR", data = dat.long)
add(list(name = "ishak2007_AR_Vtime", kind = "rma_mv_V",
         call = "Vt <- vcalc(vi, cluster = study, time1 = time, phi = 0.97); rma.mv(yi, Vt, mods = ~ factor(time) - 1, random = ~ time | study, struct = 'AR')",
         struct = "AR", method = "REML", mods = "~ factor(time) - 1", random = "~ time | study",
         input = c(df_input(dat.long, c("study", "time", "yi", "vi")), list(V = mat(Vt))), expect = model_expect(res)))

# ---------------------------------------------------------------- assink2016: CHE variants and every CR type
dat <- dat.assink2016
acols <- c("study", "esid", "id", "yi", "vi", "pubstatus", "year", "deltype")
for (rho in c(0.3, 0.9)) {
  V <- vcalc(vi, cluster = study, obs = esid, rho = rho, data = dat)
  res <- rma.mv(yi, V, random = ~ 1 | study/esid, data = dat)
  add(list(name = sprintf("assink2016_che_rho%02d", round(rho * 10)), kind = "che_rve",
           call = sprintf("V <- vcalc(vi, cluster = study, obs = esid, rho = %s); rma.mv(yi, V, random = ~ 1 | study/esid); robust(...); coef_test(res, vcov = 'CR*')", rho),
           rho = rho, mods = NULL, cluster = "study", obs = "esid", random = "~ 1 | study/esid",
           input = df_input(dat, acols),
           expect = list(model = model_expect(res),
                         robust_cr2 = robust_expect(robust(res, cluster = study, clubSandwich = TRUE)),
                         robust_cr1 = robust_expect(robust(res, cluster = study, adjust = TRUE)),
                         robust_cr1_noadjust = robust_expect(robust(res, cluster = study, adjust = FALSE)),
                         coef_tests = lapply(c("CR0", "CR1", "CR1S", "CR2", "CR3"), function(v) coef_expect(res, v)))))
}
V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6, data = dat)
res <- rma.mv(yi, V, mods = ~ deltype + year, random = ~ 1 | study/esid, method = "ML", data = dat)
add(list(name = "assink2016_che_ML_deltype_year", kind = "che_rve",
         call = "V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6); rma.mv(yi, V, mods = ~ deltype + year, random = ~ 1 | study/esid, method = 'ML'); robust(...); coef_test(res, vcov = 'CR*'); Wald_test(...)",
         rho = 0.6, mods = "~ deltype + year", cluster = "study", obs = "esid", method = "ML", random = "~ 1 | study/esid",
         input = df_input(dat, acols),
         expect = list(model = model_expect(res),
                       robust_cr2 = robust_expect(robust(res, cluster = study, clubSandwich = TRUE)),
                       robust_cr1 = robust_expect(robust(res, cluster = study, adjust = TRUE)),
                       coef_tests = lapply(c("CR0", "CR1", "CR1S", "CR2", "CR3"), function(v) coef_expect(res, v)),
                       wald = list(wald_expect(res, 2:3, "CR2", "HTZ"), wald_expect(res, 2:4, "CR2", "HTZ"),
                                   wald_expect(res, 2:3, "CR2", "Naive-F"), wald_expect(res, 2:3, "CR2", "chi-sq"),
                                   wald_expect(res, 4, "CR1", "HTZ"), wald_expect(res, 2:3, "CR0", "HTZ")))))
res <- rma.mv(yi, V, random = ~ 1 | study/esid, sigma2 = c(NA, 0.05), data = dat)
add(list(name = "assink2016_che_sigma2_fixed", kind = "rma_mv_V",
         call = "V <- vcalc(vi, cluster = study, obs = esid, rho = 0.6); rma.mv(yi, V, random = ~ 1 | study/esid, sigma2 = c(NA, 0.05))",
         rho = 0.6, random = "~ 1 | study/esid", sigma2_fixed = list(NA, 0.05), method = "REML", obs = "esid", cluster = "study",
         input = df_input(dat, acols), expect = model_expect(res)))
res <- rma.mv(yi, vi, random = list(~ 1 | study, ~ 1 | id), data = dat)
add(list(name = "assink2016_two_terms", kind = "rma_mv_V",
         call = "rma.mv(yi, vi, random = list(~ 1 | study, ~ 1 | id))",
         random = list("~ 1 | study", "~ 1 | id"), method = "REML",
         input = df_input(dat, acols), expect = model_expect(res)))
res <- rma.mv(yi, vi, random = list(~ 1 | study, ~ 1 | year), data = dat)
add(list(name = "assink2016_crossed_study_year", kind = "rma_mv_V",
         call = "rma.mv(yi, vi, random = list(~ 1 | study, ~ 1 | year))",
         random = list("~ 1 | study", "~ 1 | year"), method = "REML",
         input = df_input(dat, acols), expect = model_expect(res)))

# robust() on a univariate rma fit: CR1 with the adjustment, and every CR type
dat <- dat.bangertdrowns2004
dat <- dat[!is.na(dat$grade) & !is.na(dat$length), ]
dat$cluster <- dat$grade
res <- rma(yi, vi, mods = ~ length, data = dat)
add(list(name = "bangertdrowns_robust_length", kind = "robust_uni", mods = "~ length",
         call = "res <- rma(yi, vi, mods = ~ length); robust(res, cluster = grade, ...); coef_test(res, vcov, cluster = grade)",
         input = df_input(dat, c("yi", "vi", "grade", "length", "cluster")),
         expect = list(model = list(beta = num(res$beta), se = num(res$se), tau2 = num(res$tau2)),
                       robust_cr2 = robust_expect(robust(res, cluster = grade, clubSandwich = TRUE)),
                       robust_cr1 = robust_expect(robust(res, cluster = grade, adjust = TRUE)),
                       coef_tests = lapply(c("CR0", "CR1", "CR1S", "CR2", "CR3"), function(v) coef_expect(res, v, cluster = dat$grade)))))

# ---------------------------------------------------------------- the motivating analysis's shape (synthetic)
# 21 studies; outcomes dropout (9 studies), misconduct (3), recidivism (15); six studies report two
# outcomes: 27 effects. True effects correlated across outcomes within a study. Seeded, synthetic.
set.seed(20261205)
studies <- sprintf("S%02d", 1:21)
outcome_of <- list()
drop_s <- studies[1:9]; misc_s <- studies[c(2, 5, 10)]; recid_s <- studies[c(3, 4, 6, 8, 11:21)]
rows <- rbind(data.frame(study = drop_s, outcome = "dropout"),
              data.frame(study = misc_s, outcome = "misconduct"),
              data.frame(study = recid_s, outcome = "recidivism"))
rows <- rows[order(rows$study, rows$outcome), ]
stopifnot(nrow(rows) == 27, sum(table(rows$study) == 2) == 6)
mu <- c(dropout = -0.45, misconduct = -0.30, recidivism = -0.20)
u <- rnorm(21, 0, 0.15); names(u) <- studies
n <- round(runif(21, 40, 250)); names(n) <- studies
rows$ni <- n[rows$study]
rows$vi <- 4 / rows$ni + mu[rows$outcome]^2 / (2 * rows$ni)
rows$yi <- round(mu[rows$outcome] + u[rows$study] + rnorm(27, 0, 0.08) + rnorm(27, 0, sqrt(rows$vi)), 4)
rows$vi <- round(rows$vi, 6)
rows$rater <- ifelse(seq_len(27) %% 3 == 0, "staff", "client")
rows$setting <- ifelse(rows$ni > 120, "custodial", "community")
rows$esid <- ave(seq_len(27), rows$study, FUN = seq_along)
rownames(rows) <- NULL
scols <- c("study", "outcome", "esid", "ni", "yi", "vi", "rater", "setting")
Vs <- vcalc(vi, cluster = study, type = outcome, rho = 0.5, data = rows)
add(list(name = "vcalc_seed_type", kind = "vcalc", call = "vcalc(vi, cluster = study, type = outcome, rho = 0.5)",
         args = list(vi = "vi", cluster = "study", type = "outcome", rho = 0.5),
         input = df_input(rows, c("study", "outcome", "vi")), expect = list(V = mat(Vs))))
for (spec in list(list(struct = "CS", method = "REML"), list(struct = "DIAG", method = "REML"),
                  list(struct = "HCS", method = "REML"), list(struct = "CS", method = "ML"))) {
  res <- rma.mv(yi, Vs, mods = ~ outcome - 1, random = ~ outcome | study, struct = spec$struct,
                method = spec$method, data = rows)
  ex <- model_expect(res)
  ex$robust_cr2 <- robust_expect(robust(res, cluster = study, clubSandwich = TRUE))
  add(list(name = paste0("seed_shape_", spec$struct, "_", spec$method), kind = "rma_mv_V",
           call = sprintf("Vs <- vcalc(vi, cluster = study, type = outcome, rho = 0.5); rma.mv(yi, Vs, mods = ~ outcome - 1, random = ~ outcome | study, struct = '%s', method = '%s'); robust(res, cluster = study, clubSandwich = TRUE)", spec$struct, spec$method),
           struct = spec$struct, method = spec$method, mods = "~ outcome - 1", random = "~ outcome | study",
           synthetic = TRUE, input = c(df_input(rows, scols), list(V = mat(Vs))), expect = ex))
}
Vc <- vcalc(vi, cluster = study, obs = esid, rho = 0.5, data = rows)
res <- rma.mv(yi, Vc, mods = ~ outcome - 1, random = ~ 1 | study/esid, data = rows)
add(list(name = "seed_shape_che_outcome", kind = "che_rve",
         call = "Vc <- vcalc(vi, cluster = study, obs = esid, rho = 0.5); rma.mv(yi, Vc, mods = ~ outcome - 1, random = ~ 1 | study/esid); robust(...); coef_test; Wald_test",
         rho = 0.5, mods = "~ outcome - 1", cluster = "study", obs = "esid", random = "~ 1 | study/esid", synthetic = TRUE,
         input = df_input(rows, scols),
         expect = list(model = model_expect(res), V = mat(Vc),
                       robust_cr2 = robust_expect(robust(res, cluster = study, clubSandwich = TRUE)),
                       robust_cr1 = robust_expect(robust(res, cluster = study, adjust = TRUE)),
                       coef_tests = lapply(c("CR0", "CR1", "CR1S", "CR2", "CR3"), function(v) coef_expect(res, v)),
                       wald = list(wald_expect(res, 1:3, "CR2", "HTZ")))))
res <- rma.mv(yi, Vc, mods = ~ outcome + rater + setting, random = ~ 1 | study/esid, data = rows)
add(list(name = "seed_shape_che_moderators", kind = "che_rve",
         call = "rma.mv(yi, Vc, mods = ~ outcome + rater + setting, random = ~ 1 | study/esid); robust; coef_test; Wald_test",
         rho = 0.5, mods = "~ outcome + rater + setting", cluster = "study", obs = "esid", random = "~ 1 | study/esid", synthetic = TRUE,
         input = df_input(rows, scols),
         expect = list(model = model_expect(res),
                       robust_cr2 = robust_expect(robust(res, cluster = study, clubSandwich = TRUE)),
                       coef_tests = lapply(c("CR1", "CR2"), function(v) coef_expect(res, v)),
                       wald = list(wald_expect(res, 2:3, "CR2", "HTZ"), wald_expect(res, 4:5, "CR2", "HTZ")))))

out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        clubSandwich = as.character(packageVersion("clubSandwich")),
                        metadat = as.character(packageVersion("metadat")), date = as.character(Sys.Date()),
                        script = "tests/data/reference/metafor/metafor_mv_more.R"),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(here, "metafor_mv_more.json"))
cat("wrote", length(cases), "cases\n")
