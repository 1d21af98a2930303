# Extra issue-9 cases for bayesma (tests/frequentist/test_hard_cases_reference.py): PM / EB / REML / SJ
# meta-regression with tau2 in dollars (z, knha), subgroups with a one-study group (PM, ML, SJ x knha,
# adhoc, z), three-level rma.mv ML / REML with a moderator (z, t). Run: Rscript metafor_hard_cases_extra.R
suppressMessages(library(metafor)); library(jsonlite)
out <- list()
set.seed(3)
# PM large tau2 in dollars with knha + mods
yi <- c(1200, -300, 4500, 800, 2500, 150, 3900, -800, 600, 2200, 1800)
vi <- c(250000, 400000, 900000, 160000, 300000, 220000, 500000, 350000, 260000, 410000, 330000)
x <- c(1,3,2,5,4,6,8,7,9,10,11)
for (m in c("PM","EB","REML","SJ")) for (t in c("z","knha")) {
  r <- rma(yi, vi, mods=~x, method=m, test=t)
  ci <- confint(r)$random
  out[[paste("big", m, t, sep="_")]] <- list(method=m, test=t, beta=as.vector(r$beta), se=r$se, tau2=r$tau2, QM=r$QM, ci_lb=r$ci.lb, tau2_ci=as.vector(ci[1,2:3]))
}
# subgroup with one-study group, PM, knha
g <- c("a","a","a","b","c","c","c","c","a","c","a")
y2 <- c(0.2,0.5,0.1,0.9,-0.1,0.3,0.05,0.4,0.35,0.2,0.6); v2 <- c(0.02,0.03,0.05,0.04,0.02,0.03,0.06,0.02,0.04,0.05,0.03)
for (m in c("PM","ML","SJ")) for (t in c("knha","adhoc","z")) {
  per <- lapply(c("a","b","c"), function(l) { s <- g==l; suppressWarnings(rma(y2[s], v2[s], method=m, test=t)) })
  est <- sapply(per, function(r) r$beta[1]); se <- sapply(per, function(r) r$se)
  fe <- rma(est, sei=se, method="FE")
  mf <- rma(y2, v2, mods=~factor(g), method=m, test=t)
  out[[paste("sub", m, t, sep="_")]] <- list(method=m, test=t, est=est, se=se, Q=fe$QE, QM=mf$QM, QMp=mf$QMp)
}
# three-level ML with mods via rma.mv
dat <- dat.konstantopoulos2011
for (m in c("ML","REML")) for (t in c("z","t")) {
  r <- rma.mv(yi, vi, mods=~ I(year-1990), random=~1|district/school, data=dat, method=m, test=t)
  out[[paste("mv", m, t, sep="_")]] <- list(method=m, test=t, beta=as.vector(r$beta), se=r$se, sigma2=r$sigma2, ll=as.numeric(logLik(r)))
}
meta <- list(made = as.character(Sys.Date()), R = R.version.string, metafor = as.character(packageVersion("metafor")), script = "metafor_hard_cases_extra.R")
write_json(list(meta = meta, yi=yi, vi=vi, x=x, g=g, y2=y2, v2=v2, cases=out), "metafor_hard_cases_extra.json", digits=NA, auto_unbox=TRUE)
