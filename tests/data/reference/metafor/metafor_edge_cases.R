# Reference values for edge cases that gave NaN or errors before: a fixed tau² with one or two
# studies (rma, cumul, leave1out, influence), ranktest on constant effects or variances, and the
# same model on data in other units (metafor's tolerances are absolute: see the note in the JSON).
#
# Run:  Rscript tests/data/reference/metafor/metafor_edge_cases.R   (writes metafor_edge_cases.json)
# Made with R 4.2.2, metafor 3.8.1.
suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
num <- function(x) unname(as.numeric(x))
tab <- function(x) lapply(as.data.frame(x), num)
cases <- list()
add <- function(case) cases[[length(cases) + 1]] <<- case

yi <- c(0.1, 0.3, 0.2, 0.5); vi <- c(0.02, 0.03, 0.01, 0.04)
res <- rma(yi, vi, tau2 = 0.01)
add(list(name = "cumul_fixed_tau2", kind = "cumul", call = "cumul(rma(yi, vi, tau2 = 0.01))",
         input = list(yi = yi, vi = vi, tau2 = 0.01), expect = tab(cumul(res))))
res2 <- rma(yi[1:2], vi[1:2], tau2 = 0.01)
add(list(name = "leave1out_k2_fixed_tau2", kind = "leave1out", call = "leave1out(rma(yi[1:2], vi[1:2], tau2 = 0.01))",
         input = list(yi = yi[1:2], vi = vi[1:2], tau2 = 0.01), expect = tab(leave1out(res2))))
inf <- influence(res2)$inf
add(list(name = "influence_k2_fixed_tau2", kind = "influence", call = "influence(rma(yi[1:2], vi[1:2], tau2 = 0.01))",
         input = list(yi = yi[1:2], vi = vi[1:2], tau2 = 0.01),
         expect = list(rstudent = num(inf$rstudent), dffits = num(inf$dffits), cook_d = num(inf$cook.d),
                       cov_r = num(inf$cov.r), tau2_del = num(inf$tau2.del), QE_del = num(inf$QE.del),
                       hat = num(inf$hat), weight = num(inf$weight))))
r1 <- rma(0.1, 0.02, tau2 = 0.01)
add(list(name = "rma_k1_fixed_tau2", kind = "rma", call = "rma(0.1, 0.02, tau2 = 0.01)",
         input = list(yi = 0.1, vi = 0.02, tau2 = 0.01),
         expect = list(beta = num(r1$beta), se = num(r1$se), ci_lb = num(r1$ci.lb), ci_ub = num(r1$ci.ub),
                       QE = num(r1$QE), QEp = num(r1$QEp), I2 = num(r1$I2), H2 = num(r1$H2))))
for (case in list(list(name = "ranktest_constant_yi", yi = rep(0.2, 5), vi = c(0.01, 0.02, 0.03, 0.04, 0.05)),
                  list(name = "ranktest_constant_vi", yi = c(0.1, 0.3, 0.2, 0.5, 0.4), vi = rep(0.02, 5)))) {
  rt <- suppressWarnings(ranktest(case$yi, case$vi))
  add(list(name = case$name, kind = "ranktest", call = "ranktest(yi, vi)", input = list(yi = case$yi, vi = case$vi),
           expect = list(tau = num(rt$tau), pval = num(rt$pval))))
}
# Mantel-Haenszel with no events (RD) or only events (RR, RD) anywhere, and Peto with one 0/0 table
mh <- list(list(name = "mh_RD_no_events", measure = "RD", ai = c(0, 0, 0), ci = c(0, 0, 0)),
           list(name = "mh_RR_all_events", measure = "RR", ai = c(10, 20, 15), ci = c(12, 18, 15)),
           list(name = "mh_RD_all_events", measure = "RD", ai = c(10, 20, 15), ci = c(12, 18, 15)),
           list(name = "mh_RR_no_events", measure = "RR", ai = c(0, 0, 0), ci = c(0, 0, 0)))
n1i <- c(10, 20, 15); n2i <- c(12, 18, 15)
for (m in mh) {
  r <- suppressWarnings(rma.mh(ai = m$ai, n1i = n1i, ci = m$ci, n2i = n2i, measure = m$measure))
  add(list(name = m$name, kind = "rma_mh", measure = m$measure, call = "rma.mh(ai, n1i, ci, n2i, measure)",
           input = list(ai = m$ai, n1i = n1i, ci = m$ci, n2i = n2i),
           expect = list(beta = num(r$beta), se = num(r$se), zval = num(r$zval), pval = num(r$pval),
                         ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub), QE = num(r$QE), QEp = num(r$QEp))))
}
r <- suppressWarnings(rma.peto(ai = c(0, 3, 5), n1i = n1i, ci = c(0, 6, 2), n2i = n2i))
add(list(name = "peto_one_double_zero", kind = "rma_peto", call = "rma.peto(ai, n1i, ci, n2i)",
         input = list(ai = c(0, 3, 5), n1i = n1i, ci = c(0, 6, 2), n2i = n2i),
         expect = list(beta = num(r$beta), se = num(r$se), ci_lb = num(r$ci.lb), ci_ub = num(r$ci.ub),
                       QE = num(r$QE), QEp = num(r$QEp))))
# selmodel keeps a fixed tau² (it was re-estimated before)
r <- rma(yi, vi, data = dat.lehmann2018, tau2 = 0.1)
for (sel in list(list(type = "stepfun", steps = c(0.025, 1)), list(type = "halfnorm", steps = NULL))) {
  s <- if (is.null(sel$steps)) selmodel(r, type = sel$type) else selmodel(r, type = sel$type, steps = sel$steps)
  add(list(name = paste0("selmodel_fixed_tau2_", sel$type), kind = "selmodel", type = sel$type, steps = sel$steps,
           call = "selmodel(rma(yi, vi, data = dat.lehmann2018, tau2 = 0.1), type, steps)",
           input = list(yi = num(dat.lehmann2018$yi), vi = num(dat.lehmann2018$vi), tau2 = 0.1),
           expect = list(beta = num(s$beta), se = num(s$se), tau2 = num(s$tau2), delta = num(s$delta),
                         se_delta = num(s$se.delta), LRT = num(s$LRT), LRTp = num(s$LRTp), ll = num(logLik(s)))))
}
out <- list(meta = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                        date = as.character(Sys.Date()), script = "tests/data/reference/metafor/metafor_edge_cases.R"),
            cases = cases)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null"), file.path(here, "metafor_edge_cases.json"))
cat("wrote", length(cases), "cases\n")
