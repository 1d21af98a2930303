# Reference printouts and numbers for bayesma's printout tests (tests/frequentist/test_robust_printout.py,
# tests/frequentist/test_rma_subset.py, tests/cli/test_cli_rma_printout.py).
# R 4.2.2, metafor 3.8.1, clubSandwich; run: Rscript metafor_printouts.R  (writes metafor_printouts.json)
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})
dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
out <- list()
printed <- function(x) capture.output(print(x))

# robust(): what metafor's print of a cluster-robust fit shows (rma.uni with a moderator; rma.mv three-level)
res <- rma(yi, vi, mods = ~ ablat, data = dat)
out$robust_uni <- list(print = printed(robust(res, cluster = trial, clubSandwich = TRUE)))
k11 <- dat.konstantopoulos2011
res2 <- rma.mv(yi, vi, random = ~ 1 | district/school, data = k11)
out$robust_mv <- list(print = printed(robust(res2, cluster = district, clubSandwich = TRUE)))

# subset=: the studies with random allocation
fit_numbers <- function(r) list(k = r$k, beta = as.vector(r$beta), se = r$se, zval = r$zval, pval = r$pval,
                                ci_lb = r$ci.lb, ci_ub = r$ci.ub, tau2 = r$tau2, se_tau2 = r$se.tau2, QE = r$QE,
                                QEp = r$QEp, I2 = r$I2, H2 = r$H2, sigma2 = r$sigma2, print = printed(r))
out$subset_random <- fit_numbers(rma(yi, vi, data = dat, subset = alloc == "random"))
out$subset_index <- fit_numbers(rma(yi, vi, data = dat, subset = c(1, 3, 5, 7, 9, 11, 13)))
out$subset_mods <- fit_numbers(rma(yi, vi, mods = ~ ablat, data = dat, subset = alloc != "random"))
out$subset_mv <- fit_numbers(rma.mv(yi, vi, random = ~ 1 | district/school, data = k11, subset = year < 1980))

# Knapp-Hartung with moderators: metafor labels the omnibus test F(df1, df2)
r3 <- rma(yi, vi, mods = ~ ablat + year, data = dat, test = "knha")
out$knha_mods <- list(QM = r3$QM, QMp = r3$QMp, QMdf = r3$QMdf, print = printed(r3))

write_json(out, "metafor_printouts.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
