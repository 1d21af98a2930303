# Reference values for the test= options of metafor 3.8.1, above all test = "t" (t tests and intervals
# with k - p df and an F test of the moderators, the variances NOT rescaled; the prediction interval
# with the t quantile), beside "knha" and "adhoc" (Knapp-Hartung, truncated at 1), on:
#   dat.bcg (log risk ratios): every tau^2 estimator bayesma has, intercept-only and ~ ablat;
#   ~ ablat + year; subgroups by alloc (one fit per subgroup and ~ factor(alloc)); a k = 3 case;
#   predict() with and without newmods; anova() Wald tests (btt = and X =); permutest() (exact);
#   regtest(); trimfill(); leave1out(); blup(); selmodel() of a t fit (metafor refits with z);
#   rma.mv three-level (dat.konstantopoulos2011) with test = "t"; rma.glmm with test = "t";
#   the printout of t fits (tval, df, F(df1 = ., df2 = .)).
#
# Run:  Rscript tests/data/reference/metafor/metafor_test_t.R   (writes metafor_test_t.json beside it)
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

fit_expect <- function(res) {
  pr <- predict(res)
  out <- list(
    beta = num(res$beta), se = num(res$se), stat = num(res$zval), pval = num(res$pval),
    ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), coef_names = rownames(res$beta),
    vb = mat(res$vb), tau2 = num(res$tau2), QE = num(res$QE), QEp = num(res$QEp),
    QM = num(res$QM), QMp = num(res$QMp), QMdf = num(res$QMdf), ddf = num(res$ddf), test = res$test,
    k = res$k, p = res$p, btt = num(res$btt), print = capture.output(print(res))
  )
  if (res$int.only) {
    out$pi_lb <- num(pr$pi.lb)
    out$pi_ub <- num(pr$pi.ub)
  }
  out
}

pred_expect <- function(pr) {
  list(pred = num(pr$pred), se = num(pr$se), ci_lb = num(pr$ci.lb), ci_ub = num(pr$ci.ub),
       pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub), ddf = num(pr$ddf))
}

cases <- list()
add <- function(name, value) cases[[name]] <<- value

# --------------------------------------------------------------------------- dat.bcg
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_input <- list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), ablat = bcg$ablat, year = bcg$year,
                  alloc = as.character(bcg$alloc), author = bcg$author,
                  tpos = bcg$tpos, tneg = bcg$tneg, cpos = bcg$cpos, cneg = bcg$cneg)

methods <- c("FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
for (m in methods) {
  for (tst in c("t", "knha", "adhoc", "z")) {
    res <- suppressWarnings(rma(yi, vi, data = bcg, method = m, test = tst))
    add(paste0("bcg_", m, "_", tst), c(list(kind = "rma", data = "bcg", method = m, test = tst, mods = NULL),
                                       list(expect = fit_expect(res))))
    res <- suppressWarnings(rma(yi, vi, mods = ~ ablat, data = bcg, method = m, test = tst))
    add(paste0("bcg_ablat_", m, "_", tst), c(list(kind = "rma", data = "bcg", method = m, test = tst,
                                                  mods = "~ ablat"), list(expect = fit_expect(res))))
  }
}

# ~ ablat + year (REML, DL), with predictions at new moderator values and Wald tests
for (m in c("REML", "DL")) {
  res <- rma(yi, vi, mods = ~ ablat + year, data = bcg, method = m, test = "t")
  nm <- rbind(c(10, 1950), c(30, 1960), c(50, 1975))
  L <- rbind(c(0, 1, 0), c(0, 0, 1), c(1, 30, 1960))
  an <- anova(res, btt = 2:3)
  an3 <- anova(res, btt = 3)
  anX <- anova(res, X = L)
  add(paste0("bcg_ablat_year_", m, "_t"), list(
    kind = "rma", data = "bcg", method = m, test = "t", mods = "~ ablat + year", expect = fit_expect(res),
    newmods = mat(nm), predict_new = pred_expect(predict(res, newmods = nm)),
    predict_fitted = pred_expect(predict(res)),
    anova_btt23 = list(QM = num(an$QM), QMp = num(an$QMp), QMdf = num(an$QMdf), print = capture.output(print(an))),
    anova_btt3 = list(QM = num(an3$QM), QMp = num(an3$QMp), QMdf = num(an3$QMdf)),
    anova_X = list(L = mat(L), Xb = num(anX$Xb), se = num(anX$se), zval = num(anX$zval), pval = num(anX$pval),
                   QM = num(anX$QM), QMp = num(anX$QMp), QMdf = num(anX$QMdf))
  ))
}

# predictions of the ~ ablat t fit at new latitudes, and its BLUPs
res <- rma(yi, vi, mods = ~ ablat, data = bcg, test = "t")
bl <- blup(res)
add("bcg_ablat_REML_t_extras", list(
  kind = "extras", data = "bcg", method = "REML", test = "t", mods = "~ ablat", newmods = c(10, 30, 50),
  predict_new = pred_expect(predict(res, newmods = c(10, 30, 50))),
  predict_90 = pred_expect(predict(res, newmods = c(10, 30, 50), level = 90)),
  blup = list(pred = num(bl$pred), se = num(bl$se), pi_lb = num(bl$pi.lb), pi_ub = num(bl$pi.ub))
))

# intercept-only REML t fit: leave-one-out, regtest, trimfill, selmodel, permutest
res <- rma(yi, vi, data = bcg, test = "t")
l1 <- leave1out(res)
rt <- regtest(res)
tf <- trimfill(res)
sm <- selmodel(res, type = "stepfun", steps = c(0.025, 1), alternative = "less")  # the BCG effects favour "less"
add("bcg_REML_t_extras", list(
  kind = "extras", data = "bcg", method = "REML", test = "t",
  leave1out = list(estimate = num(l1$estimate), se = num(l1$se), tval = num(l1$tval), pval = num(l1$pval),
                   ci_lb = num(l1$ci.lb), ci_ub = num(l1$ci.ub), tau2 = num(l1$tau2)),
  regtest = list(zval = num(rt$zval), pval = num(rt$pval), dfs = num(rt$dfs), est = num(rt$est),
                 ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub), beta = num(rt$fit$beta), se = num(rt$fit$se)),
  trimfill = list(k0 = num(tf$k0), side = tf$side, beta = num(tf$beta), se = num(tf$se), stat = num(tf$zval),
                  pval = num(tf$pval), ci_lb = num(tf$ci.lb), ci_ub = num(tf$ci.ub), tau2 = num(tf$tau2),
                  test = tf$test, ddf = num(tf$ddf)),
  selmodel = list(beta = num(sm$beta), se = num(sm$se), stat = num(sm$zval), pval = num(sm$pval),
                  ci_lb = num(sm$ci.lb), ci_ub = num(sm$ci.ub), tau2 = num(sm$tau2), delta = num(sm$delta),
                  test = sm$test)
))

# exact permutation tests of t fits: intercept-only (2^13 sign flips) and ~ ablat on 7 studies (7! orders)
pt <- permutest(res, exact = TRUE)
sub7 <- bcg[1:7, ]
res7 <- rma(yi, vi, mods = ~ ablat, data = sub7, test = "t")
pt7 <- permutest(res7, exact = TRUE)
add("bcg_permutest_t", list(
  kind = "permutest", data = "bcg",
  int_only = list(pval = num(pt$pval), QM = num(pt$QM), QMp = num(pt$QMp), stat = num(pt$zval)),
  ablat_first7 = list(pval = num(pt7$pval), QM = num(pt7$QM), QMp = num(pt7$QMp), stat = num(pt7$zval))
))

# subgroups by allocation: one t fit per subgroup and the t fit of ~ factor(alloc)
sg <- list()
for (lv in sort(unique(bcg$alloc))) {
  r <- rma(yi, vi, data = bcg, subset = alloc == lv, test = "t")
  sg[[lv]] <- list(k = r$k, beta = num(r$beta), se = num(r$se), stat = num(r$zval), pval = num(r$pval),
                   ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), tau2 = num(r$tau2), ddf = num(r$ddf))
}
mixed <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, test = "t")
add("bcg_subgroups_alloc_t", list(kind = "subgroups", data = "bcg", by = "alloc", method = "REML", test = "t",
                                  groups = sg, mixed = fit_expect(mixed)))

# k = 3 (the first three trials): ddf = 2, and the truncation of "adhoc" (s2w < 1 here)
k3 <- bcg[1:3, ]
for (tst in c("t", "knha", "adhoc")) {
  for (m in c("REML", "DL")) {
    r <- rma(yi, vi, data = k3, method = m, test = tst)
    s2w <- if (tst == "t") 1 else {
      w <- 1 / (k3$vi + r$tau2)
      max(sum(w * (k3$yi - sum(w * k3$yi) / sum(w))^2) / (r$k - 1), if (tst == "adhoc") 1 else 0)
    }
    add(paste0("bcg_k3_", m, "_", tst), list(kind = "rma", data = "bcg_k3", method = m, test = tst, mods = NULL,
                                             s2w = s2w, expect = fit_expect(r)))
  }
}

# --------------------------------------------------------------------------- rma.mv, three levels
ko <- dat.konstantopoulos2011
ko_input <- list(yi = as.numeric(ko$yi), vi = as.numeric(ko$vi), district = ko$district, school = ko$school,
                 year = ko$year)
r0 <- rma.mv(yi, vi, random = ~ 1 | district/school, data = ko, test = "t")
r1 <- rma.mv(yi, vi, mods = ~ year, random = ~ 1 | district/school, data = ko, test = "t")
mv_expect <- function(r) list(beta = num(r$beta), se = num(r$se), stat = num(r$zval), pval = num(r$pval),
                              ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), sigma2 = num(r$sigma2),
                              QM = num(r$QM), QMp = num(r$QMp), QMdf = num(r$QMdf), ddf = num(r$ddf),
                              logLik = as.numeric(logLik(r)), print = capture.output(print(r)))
add("konst_mv_t", list(kind = "rma.mv", data = "konst", mods = NULL, expect = mv_expect(r0),
                       predict = pred_expect(predict(r0))))
add("konst_mv_year_t", list(kind = "rma.mv", data = "konst", mods = "~ year", expect = mv_expect(r1),
                            newmods = c(1980, 1990), predict_new = pred_expect(predict(r1, newmods = c(1980, 1990))),
                            anova_btt2 = list(QM = num(anova(r1, btt = 2)$QM), QMp = num(anova(r1, btt = 2)$QMp))))

# --------------------------------------------------------------------------- rma.glmm
g <- rma.glmm(measure = "OR", ai = tpos, n1i = tpos + tneg, ci = cpos, n2i = cpos + cneg, data = dat.bcg,
              model = "UM.FS", test = "t")
add("bcg_glmm_UMFS_t", list(kind = "rma.glmm", data = "bcg", measure = "OR", model = "UM.FS",
                            expect = list(beta = num(g$beta), se = num(g$se), stat = num(g$zval),
                                          pval = num(g$pval), ci_lb = num(g$ci.lb), ci_ub = num(g$ci.ub),
                                          tau2 = num(g$tau2), ddf = num(g$ddf),
                                          pi_lb = num(predict(g)$pi.lb), pi_ub = num(predict(g)$pi.ub))))

# what metafor refuses
refused <- list(
  rma_uni = tryCatch({rma(yi, vi, data = bcg, test = "wald"); "accepted"}, error = function(e) conditionMessage(e)),
  rma_mv_knha = tryCatch({rma.mv(yi, vi, random = ~ 1 | district/school, data = ko, test = "knha"); "accepted"},
                         error = function(e) conditionMessage(e)),
  rma_mv_adhoc = tryCatch({rma.mv(yi, vi, random = ~ 1 | district/school, data = ko, test = "adhoc"); "accepted"},
                          error = function(e) conditionMessage(e)),
  rma_glmm_knha = tryCatch({rma.glmm(measure = "OR", ai = tpos, n1i = tpos + tneg, ci = cpos, n2i = cpos + cneg,
                                     data = dat.bcg, test = "knha"); "accepted"}, error = function(e) conditionMessage(e))
)

out <- list(
  meta = list(script = "metafor_test_t.R", R = R.version.string, metafor = as.character(packageVersion("metafor")),
              metadat = as.character(packageVersion("metadat"))),
  data = list(bcg = bcg_input, konst = ko_input),
  refused = refused,
  cases = cases
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(here, "metafor_test_t.json"))
cat("wrote", length(cases), "cases\n")
