# Reference values for bayesma.effects.published (conv_wald, conv_delta, conv_fivenum) and the
# t / F statistic conversions (convert_t_to_d, convert_t_to_r, ...).
#
# metafor 3.8.1 (installed here) has no conv.* functions and its escalc() takes no t statistics,
# so the R sources of metafor 5.0-1 (github.com/cran/metafor, commit 3d2ba39) are sourced on top
# of the 3.8.1 namespace: R/mfopt.r, R/replmiss.r, R/misc.func.hidden.r,
# R/misc.func.hidden.escalc.r, R/escalc.r, R/conv.wald.r, R/conv.delta.r, R/conv.fivenum.r.
#
#   Rscript metafor_conv.R /path/to/metafor-5.0-1/R > metafor_conv.json
suppressMessages(library(metafor))
suppressMessages(library(jsonlite))
src <- commandArgs(trailingOnly = TRUE)[1]
env <- new.env(parent = asNamespace("metafor"))
for (f in c("mfopt.r", "replmiss.r", "misc.func.hidden.r", "misc.func.hidden.escalc.r", "escalc.r",
            "conv.wald.r", "conv.delta.r", "conv.fivenum.r"))
  sys.source(file.path(src, f), envir = env)

num <- function(x) { x <- as.numeric(x); x[is.na(x)] <- NaN; x }
out <- list(metafor_version = "5.0-1 sources on 3.8.1", R = R.version.string)

# --- conv.wald: the examples of its help page (an OR with CI, upper bound only, p-value) -------
or  <- c(0.64, 2.56, 1.86); lo <- c(0.33, 1.23, 1.12); hi <- c(1.22, 5.30, 3.10)
w1 <- env$conv.wald(out = or, ci.lb = lo, ci.ub = hi, transf = log)
w2 <- env$conv.wald(out = or, ci.ub = hi, transf = log)
pv <- c(0.17, 0.03, 0.0004)
w3 <- env$conv.wald(out = or, pval = pv, transf = log)
# raw-scale estimates, a 90% level, z values, and both CI and p (CI wins)
est <- c(0.35, -0.12, 0.8); lb <- c(0.05, -0.40, 0.1); ub <- c(0.65, 0.16, 1.5)
w4 <- env$conv.wald(out = est, ci.lb = lb, ci.ub = ub, level = 90)
zv <- c(2.1, -0.7, 3.3)
w5 <- env$conv.wald(out = est, zval = zv)
w6 <- env$conv.wald(out = est, ci.lb = lb, ci.ub = ub, pval = c(0.01, 0.5, 0.02))
out$conv_wald <- list(
  or = or, lower = lo, upper = hi, pval = pv, est = est, lb = lb, ub = ub, zval = zv,
  ci = list(yi = num(w1$yi), vi = num(w1$vi)),
  ub_only = list(yi = num(w2$yi), vi = num(w2$vi)),
  p = list(yi = num(w3$yi), vi = num(w3$vi)),
  level90 = list(yi = num(w4$yi), vi = num(w4$vi)),
  z = list(yi = num(w5$yi), vi = num(w5$vi)),
  ci_and_p = list(yi = num(w6$yi), vi = num(w6$vi)))
# the symmetry check: which rows does metafor flag (its warning names the rows)?
asym <- tryCatch({env$conv.wald(out = c(0.5, 0.5), ci.lb = c(0.1, 0.3), ci.ub = c(0.9, 0.9)); "none"},
                 warning = function(w) conditionMessage(w))
out$conv_wald$asym_message <- asym

# existing yi/vi kept (replace = "ifna") or replaced ("all")
dat <- data.frame(yi = c(-0.55, NA, -0.69), vi = c(0.0818, NA, 0.4437), or = c(0.5, 0.64, 0.6),
                  lower = c(0.3, 0.33, 0.2), upper = c(0.9, 1.22, 1.9))
k1 <- env$conv.wald(out = or, ci.lb = lower, ci.ub = upper, data = dat, transf = log)
k2 <- env$conv.wald(out = or, ci.lb = lower, ci.ub = upper, data = dat, transf = log, replace = "all")
out$conv_wald$ifna <- list(yi = num(k1$yi), vi = num(k1$vi))
out$conv_wald$all <- list(yi = num(k2$yi), vi = num(k2$vi))

# --- conv.delta ------------------------------------------------------------------------------
pr <- escalc(measure = "PR", xi = c(5, 12), ni = c(40, 80))
d1 <- env$conv.delta(pr$yi, pr$vi, transf = transf.logit)
plo <- escalc(measure = "PLO", xi = c(5, 12), ni = c(40, 80))
smd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999)
d2 <- env$conv.delta(smd$yi, smd$vi, transf = function(d, n1i, n2i) {
  m <- n1i + n2i - 2; h <- m / n1i + m / n2i; d / sqrt(d^2 + h) }, n1i = dat.normand1999$n1i,
  n2i = dat.normand1999$n2i)
rr <- c(0.3, -0.1, 0.45); vr <- (1 - rr^2)^2 / (c(50, 80, 120) - 1)
d3 <- env$conv.delta(rr, vr, transf = transf.rtoz)
d4 <- env$conv.delta(c(0.2, 1.1), c(0.04, 0.09), transf = exp)
out$conv_delta <- list(
  pr_yi = num(pr$yi), pr_vi = num(pr$vi), logit = list(yi = num(d1$yi), vi = num(d1$vi)),
  plo = list(yi = num(plo$yi), vi = num(plo$vi)),
  smd_yi = num(smd$yi), smd_vi = num(smd$vi), n1i = dat.normand1999$n1i, n2i = dat.normand1999$n2i,
  rpb = list(yi = num(d2$yi), vi = num(d2$vi)),
  r = rr, vr = vr, rtoz = list(yi = num(d3$yi), vi = num(d3$vi)),
  exp = list(yi = num(d4$yi), vi = num(d4$vi)))

# --- conv.fivenum ----------------------------------------------------------------------------
fv <- data.frame(min = c(2, NA, 2, 1, NA, 10), q1 = c(NA, 4, 4, 3, 20, 14), median = c(6, 6, 6, 5, 24, 17),
                 q3 = c(NA, 10, 10, 8, 29, 21), max = c(14, NA, 14, 12, NA, 30), n = c(20, 20, 20, 150, 64, 9))
methods <- c("default", "luo2016", "wan2014", "shi2020", "hozo2005", "bland2015")
out$conv_fivenum <- list(data = as.list(lapply(fv, num)))
for (m in methods) {
  mm <- if (m %in% c("luo2016")) c("luo2016", "default") else if (m == "shi2020") c("default", "shi2020") else m
  r <- suppressWarnings(env$conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n,
                                         data = fv, method = mm, test = FALSE))
  out$conv_fivenum[[m]] <- list(mean = num(r$mean), sd = num(r$sd))
}
r <- env$conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n, data = fv)
out$conv_fivenum$tested <- list(mean = num(r$mean), sd = num(r$sd), tval = num(attr(r$mean, "tval")),
                                crit = num(attr(r$mean, "crit")), sig = as.logical(attr(r$mean, "sig")))
skew <- data.frame(min = c(2, NA, 2), q1 = c(NA, 4, 4), median = c(6, 6, 6), q3 = c(NA, 10, 14),
                   max = c(14, NA, 20), n = c(20, 20, 20))
r <- env$conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n, data = skew)
out$conv_fivenum$skew <- list(data = as.list(lapply(skew, num)), mean = num(r$mean), sd = num(r$sd),
                              sig = as.logical(attr(r$mean, "sig")))

# --- t and F statistics to d and r (escalc's ti= of metafor 5.0; F(1, df) = t^2) ---------------
ti <- c(2.12, -1.5, 0.4, 3.9); n1 <- c(95, 20, 12, 40); n2 <- c(99, 22, 15, 38)
s1 <- env$escalc("SMD", ti = ti, n1i = n1, n2i = n2)
s2 <- env$escalc("SMD", ti = ti, n1i = n1, n2i = n2, correct = FALSE)
nr <- c(182, 30, 64, 12)
c1 <- env$escalc("COR", ti = ti, ni = nr)
pi_ <- c(0.035, 0.2, 0.6, 0.0002)
s3 <- env$escalc("SMD", pi = pi_ * sign(ti), n1i = n1, n2i = n2)
c2 <- env$escalc("COR", pi = pi_ * sign(ti), ni = nr)
out$stats <- list(ti = ti, n1i = n1, n2i = n2, ni = nr, pi = pi_,
                  smd = list(yi = num(s1$yi), vi = num(s1$vi)),
                  d = list(yi = num(s2$yi), vi = num(s2$vi)),
                  cor = list(yi = num(c1$yi), vi = num(c1$vi)),
                  smd_p = list(yi = num(s3$yi), vi = num(s3$vi)),
                  cor_p = list(yi = num(c2$yi), vi = num(c2$vi)))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "string"))
