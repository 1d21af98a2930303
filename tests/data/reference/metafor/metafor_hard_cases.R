# Reference values for issue 9 (edge cases of rma / rma.mv / escalc), made with metafor.
# Run from this directory:  Rscript metafor_hard_cases.R   (writes metafor_hard_cases.json)
# Every case stores its inputs, so the tests need no R.
suppressMessages({library(metafor); library(jsonlite)})

meta <- list(made = format(Sys.Date()), R = R.version.string,
             metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             script = "metafor_hard_cases.R",
             notes = I(c("Per-coefficient fields (beta, se, stat, pval, ci_lb, ci_ub) are always arrays, in coef_names order; coef_na marks metafor's dropped redundant columns (coef_names_full).",
                         "warnings: every warning text metafor emitted for the fit (pred_warnings: for predict(); confint_warnings: for confint()).",
                         "metafor rma.uni search range: tau2.max = max(100, 10 * mad(yi)^2) for PM/EB/ML/REML/SJ-type root searches; PM/EB stop with 'Value of tau2.max too low' when the root lies above it.",
                         "metafor confint.rma.uni (Q-profile): search in [min(0, tau2), max(100, 10 * tau2, 10 * tau2.min)]; when Q at the upper end is still above the critical value the bound is returned as the limit (silently), e.g. bigtau2_dollars_HS_z.")))

# evaluate, keeping the value, every warning text and the error text (if any)
capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)), class = "caperr")),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, warnings = I(warns))
}
arr <- function(x) I(unname(as.numeric(x)))

rma_out <- function(res) {
  out <- list(coef_names = I(rownames(res$beta)), beta = arr(res$beta), se = arr(res$se),
              stat = arr(res$zval), pval = arr(res$pval), ci_lb = arr(res$ci.lb), ci_ub = arr(res$ci.ub),
              test = res$test, dfs = if (is.null(res$ddf) || all(is.na(res$ddf))) NA else arr(res$ddf),
              k = res$k, p = res$p, method = res$method, tau2 = res$tau2,
              se_tau2 = if (is.null(res$se.tau2)) NA else res$se.tau2,
              QE = res$QE, QEp = res$QEp, QEdf = res$k - res$p,
              QM = res$QM, QMp = res$QMp, QMdf = arr(res$QMdf),
              I2 = if (is.null(res$I2)) NA else res$I2, H2 = if (is.null(res$H2)) NA else res$H2,
              ll = as.numeric(logLik(res)))
  if (!is.null(res$coef.na)) { out$coef_na <- I(unname(res$coef.na)); out$coef_names_full <- I(names(res$coef.na)) }
  out
}

rma_case <- function(name, yi, vi, method, test = "z", mods = NULL, moddata = NULL, extra = list(),
                     do_pred = TRUE, do_confint = FALSE) {
  dat <- data.frame(yi = yi, vi = vi)
  if (!is.null(moddata)) dat <- cbind(dat, moddata)
  fit <- capture(if (is.null(mods)) rma(yi, vi, data = dat, method = method, test = test)
                 else rma(yi, vi, mods = mods, data = dat, method = method, test = test))
  case <- c(list(name = name, kind = "rma", method = method, test = test,
                 mods = if (is.null(mods)) NULL else paste(deparse(mods), collapse = ""),
                 input = as.list(dat)), extra)
  if (inherits(fit$value, "caperr")) {
    case$expect <- list(error = fit$value$msg, warnings = fit$warnings)
    return(case)
  }
  res <- fit$value
  ex <- rma_out(res); ex$warnings <- fit$warnings
  if (do_pred && is.null(mods)) {
    pr <- capture(predict(res))
    ex$pi_lb <- pr$value$pi.lb; ex$pi_ub <- pr$value$pi.ub
    ex$pred_warnings <- pr$warnings
  }
  if (do_confint) {
    ci <- capture(confint(res))
    if (inherits(ci$value, "caperr")) ex$confint_error <- ci$value$msg else {
      r <- ci$value$random
      ex$tau2_ci <- arr(r["tau^2", c("ci.lb", "ci.ub")]); ex$tau_ci <- arr(r["tau", c("ci.lb", "ci.ub")])
      ex$I2_ci <- arr(r["I^2(%)", c("ci.lb", "ci.ub")]); ex$H2_ci <- arr(r["H^2", c("ci.lb", "ci.ub")])
      ex$confint_warnings <- ci$warnings
    }
  }
  case$expect <- ex
  case
}

cases <- list()
add <- function(x) cases[[length(cases) + 1]] <<- x

## 1. k = 1 with test = "knha" / "adhoc" (metafor falls back to z with a warning)
for (d in list(list(tag = "a", yi = 0.4, vi = 0.01), list(tag = "b", yi = -0.3, vi = 0.04)))
  for (method in c("REML", "DL", "PM", "ML", "EE"))
    for (test in c("z", "knha", "adhoc"))
      add(rma_case(sprintf("k1_%s_%s_%s", d$tag, method, test), d$yi, d$vi, method, test))

## 2. subgroup analyses with a single-study subgroup
sub_cases <- list(
  bcg_alloc_one_alternate = local({
    es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
    drop <- max(which(es$alloc == "alternate"))
    es <- es[-drop, ]
    list(yi = as.numeric(es$yi), vi = as.numeric(es$vi), g = as.character(es$alloc),
         source = "dat.bcg, log risk ratios (escalc RR), the last 'alternate' trial removed so that subgroup has one study")
  }),
  raudenbush_weeks = local({
    d <- dat.raudenbush1985
    g <- ifelse(d$weeks == 0, "none", ifelse(d$weeks <= 3, "short", ifelse(d$weeks <= 6, "medium", "long")))
    list(yi = as.numeric(d$yi), vi = as.numeric(d$vi), g = g,
         source = "dat.raudenbush1985; g = none (0 weeks), short (1-3), medium (4-6: one study), long (>6)")
  }))
for (sn in names(sub_cases)) {
  s <- sub_cases[[sn]]
  for (method in c("REML", "DL"))
    for (test in c("knha", "z", "adhoc")) {
      levs <- sort(unique(s$g))
      per <- list()
      for (lev in levs) {
        idx <- s$g == lev
        f <- capture(rma(s$yi[idx], s$vi[idx], method = method, test = test))
        o <- rma_out(f$value); o$warnings <- f$warnings; o$level <- lev
        per[[length(per) + 1]] <- o
      }
      est <- sapply(per, function(o) o$beta[1]); sei <- sapply(per, function(o) o$se[1])
      # metafor's "compare estimates of independent meta-analyses": FE model on the subgroup estimates
      bfe <- capture(rma(est, sei = sei, method = "FE"))
      bfe_m <- capture(rma(est, sei = sei, mods = ~ factor(levs), method = "FE"))
      # common-tau2 meta-regression with the factor
      dat <- data.frame(yi = s$yi, vi = s$vi, g = s$g)
      mr <- capture(rma(yi, vi, mods = ~ factor(g), data = dat, method = method, test = test))
      mro <- rma_out(mr$value); mro$warnings <- mr$warnings
      add(list(name = sprintf("subgroup_%s_%s_%s", sn, method, test), kind = "subgroup",
               method = method, test = test, source = s$source,
               input = list(yi = s$yi, vi = s$vi, g = s$g), levels = I(levs),
               expect = list(
                 per_group = per,
                 between_fe = list(description = "rma(estimate, sei = se, method = 'FE') on the per-group estimates (test = 'z'): QE is the Wald-type Q-between",
                                   Q = bfe$value$QE, df = bfe$value$k - 1, pval = bfe$value$QEp,
                                   beta = bfe$value$beta[1], se = bfe$value$se,
                                   QM_factor = bfe_m$value$QM, QMp_factor = bfe_m$value$QMp,
                                   warnings = I(c(bfe$warnings, bfe_m$warnings))),
                 mods_factor = c(list(description = "rma(yi, vi, mods = ~ factor(g), method, test): QM (F under knha/adhoc, with QMdf) is the moderator test, one common tau2"), mro))))
    }
}

## 3. Paule-Mandel / EB (and others) with tau^2 >> 100 in raw units, with Q-profile CIs
big <- list(
  rt_ms = list(yi = c(-120, 85, 310, 45, 260, -30, 150, 410, 5, 195),
               sd1 = c(190, 210, 230, 180, 200, 215, 175, 240, 205, 195),
               sd2 = c(200, 185, 220, 210, 190, 230, 180, 225, 215, 205),
               n1 = c(24, 40, 18, 55, 30, 22, 36, 16, 48, 28), n2 = c(26, 38, 20, 50, 32, 21, 35, 17, 45, 30),
               source = "inline: reaction-time differences in milliseconds, SD about 200; vi = sd1^2/n1 + sd2^2/n2"),
  dollars = list(yi = c(1200, -3400, 5600, 800, 2500, 9100, -1500, 4300),
                 sd1 = c(3000, 4200, 5100, 2800, 3900, 6000, 3500, 4700),
                 sd2 = c(3200, 4000, 4800, 3000, 4100, 5800, 3300, 4500),
                 n1 = c(40, 25, 60, 80, 35, 20, 50, 45), n2 = c(42, 27, 58, 75, 33, 22, 52, 44),
                 source = "inline: cost differences in dollars; vi = sd1^2/n1 + sd2^2/n2"))
for (bn in names(big)) {
  b <- big[[bn]]
  vi <- b$sd1^2 / b$n1 + b$sd2^2 / b$n2
  for (method in c("PM", "EB", "REML", "ML", "DL", "SJ", "HE", "HS"))
    for (test in c("z", "knha"))
      add(rma_case(sprintf("bigtau2_%s_%s_%s", bn, method, test), b$yi, vi, method, test,
                   extra = list(source = b$source), do_confint = (test == "z")))
  # with a moderator (PM / EB meta-regression)
  x <- seq_along(b$yi)
  for (method in c("PM", "EB", "REML"))
    add(rma_case(sprintf("bigtau2_%s_%s_mods", bn, method), b$yi, vi, method, "z",
                 mods = ~ x, moddata = data.frame(x = x), extra = list(source = b$source), do_confint = TRUE))
}

# metafor's search range for PM/EB (and the Q-profile start): tau2.max = max(100, 10 * mad(yi)^2);
# when mad(yi) is small but a few studies are far out, PM/EB stop with an error ("tau2.max too low")
out_y <- c(0.5, -0.2, 0.1, 0.0, 0.3, 0.2, -0.1, 0.05, 850, -900)
out_v <- c(0.04, 0.05, 0.03, 0.06, 0.04, 0.05, 0.03, 0.04, 0.05, 0.06)
for (method in c("PM", "EB", "REML", "DL"))
  add(rma_case(sprintf("tau2max_rule_outliers_%s", method), out_y, out_v, method, "z",
               extra = list(source = "inline: mad(yi) small, two studies at +-900", mad_yi = mad(out_y),
                            tau2_max_rule = max(100, 10 * mad(out_y)^2)),
               do_confint = TRUE))

## 4. three-level rma.mv with ML and REML on dat.konstantopoulos2011
k11 <- dat.konstantopoulos2011
for (method in c("ML", "REML"))
  for (mods in list(NULL, ~ I(year - 1990)))
    for (test in c("z", "t")) {
      f <- capture(if (is.null(mods)) rma.mv(yi, vi, random = ~ 1 | district/school, data = k11, method = method, test = test)
                   else rma.mv(yi, vi, mods = mods, random = ~ 1 | district/school, data = k11, method = method, test = test))
      res <- f$value
      ex <- rma_out(res); ex$tau2 <- NULL; ex$se_tau2 <- NULL; ex$I2 <- NULL; ex$H2 <- NULL
      ex$sigma2 <- arr(res$sigma2); ex$sigma2_names <- I(c("district", "district/school"))
      ex$fitstats <- as.list(setNames(as.numeric(fitstats(res)), c("ll", "dev", "AIC", "BIC", "AICc")))
      ex$warnings <- f$warnings
      if (is.null(mods) && test == "z") {
        ci <- capture(confint(res))
        ex$sigma2_1_ci <- arr(ci$value[[1]]$random["sigma^2.1", c("ci.lb", "ci.ub")])
        ex$sigma2_2_ci <- arr(ci$value[[2]]$random["sigma^2.2", c("ci.lb", "ci.ub")])
        pr <- predict(res); ex$pi_lb <- pr$pi.lb; ex$pi_ub <- pr$pi.ub
      }
      add(list(name = sprintf("threelevel_k11_%s_%s_%s", method, if (is.null(mods)) "int" else "year", test),
               kind = "rma.mv", method = method, test = test, random = "~ 1 | district/school",
               mods = if (is.null(mods)) NULL else paste(deparse(mods), collapse = ""),
               input = list(yi = k11$yi, vi = k11$vi, district = k11$district, school = k11$school, year = k11$year),
               expect = ex))
    }

## 5. redundant and near-collinear moderators
es <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
yi <- as.numeric(es$yi); vi <- as.numeric(es$vi)
md <- data.frame(ablat = dat.bcg$ablat, year = dat.bcg$year, alloc = dat.bcg$alloc)
md$ablat2 <- 2 * md$ablat
md$ablat_plus_year <- md$ablat + md$year
md$random <- as.numeric(md$alloc == "random")
set.seed(1); md$ablat_near <- md$ablat + rnorm(13, sd = 1e-6)
set.seed(2); md$ablat_near3 <- md$ablat + rnorm(13, sd = 1e-3)
for (method in c("REML", "FE")) {
  add(rma_case(paste0("redundant_ablat2_", method), yi, vi, method, mods = ~ ablat + ablat2, moddata = md[, c("ablat", "ablat2")]))
  add(rma_case(paste0("redundant_sum_", method), yi, vi, method, mods = ~ ablat + year + ablat_plus_year,
               moddata = md[, c("ablat", "year", "ablat_plus_year")]))
  add(rma_case(paste0("redundant_factor_dummy_", method), yi, vi, method, mods = ~ factor(alloc) + random,
               moddata = md[, c("alloc", "random")]))
  add(rma_case(paste0("redundant_first_", method), yi, vi, method, mods = ~ ablat2 + ablat + year,
               moddata = md[, c("ablat2", "ablat", "year")]))
  add(rma_case(paste0("nearcollinear_1e-6_", method), yi, vi, method, mods = ~ ablat + ablat_near,
               moddata = md[, c("ablat", "ablat_near")]))
  add(rma_case(paste0("nearcollinear_1e-3_", method), yi, vi, method, mods = ~ ablat + ablat_near3,
               moddata = md[, c("ablat", "ablat_near3")]))
}

## 6. one tiny sampling variance among normal ones
for (tiny in c(1e-8, 1e-12)) {
  vt <- vi; vt[3] <- tiny
  for (method in c("REML", "DL", "PM", "FE")) {
    add(rma_case(sprintf("tinyvar_%g_%s_int", tiny, method), yi, vt, method))
    add(rma_case(sprintf("tinyvar_%g_%s_ablat", tiny, method), yi, vt, method, mods = ~ ablat,
                 moddata = md[, "ablat", drop = FALSE]))
  }
}

## 7. MD / SMD / SMDH / ROM with SD = 0 in one arm (and in both)
sdz <- data.frame(m1i = c(10.2, 12.5, 8.0, 9.1), sd1i = c(0, 3.1, 2.2, 0),
                  n1i = c(20, 35, 15, 12), m2i = c(9.0, 11.0, 8.5, 8.0),
                  sd2i = c(2.5, 0, 2.0, 0), n2i = c(22, 30, 16, 12))
for (measure in c("MD", "SMD", "SMDH", "ROM", "CVR", "VR")) {
  for (vtype in c("LS", "UB")) {
    if (vtype == "UB" && !(measure %in% c("MD", "SMD"))) next
    if (vtype == "UB" && measure == "MD") vt2 <- "HO" else vt2 <- vtype
    f <- capture(escalc(measure, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                        data = sdz, vtype = vt2))
    ex <- if (inherits(f$value, "caperr")) list(error = f$value$msg) else
      list(yi = arr(f$value$yi), vi = arr(f$value$vi))
    ex$warnings <- f$warnings
    add(list(name = sprintf("sd0_%s_%s", measure, vt2), kind = "escalc", measure = measure,
             options = list(vtype = vt2),
             note = "rows: 1 sd1i = 0; 2 sd2i = 0; 3 both positive; 4 both SDs 0",
             input = as.list(sdz), expect = ex))
  }
}

## 8. r <-> d with unequal groups: metafor 3.8.1 has no r-to-d measure; escalc "RPB" / "RBIS"
##    go d -> r from two-group means (hi = m/n1 + m/n2, m = n1 + n2 - 2; yi = d / sqrt(d^2 + hi)),
##    where d is the uncorrected standardized mean difference (pooled SD, df n1 + n2 - 2).
rpb <- data.frame(m1i = c(5.2, 3.1, 10.0, 0.0, 7.5), sd1i = c(1.1, 0.9, 4.0, 1.0, 2.2),
                  n1i = c(30, 62, 20, 10, 100), m2i = c(4.6, 3.4, 8.0, 0.5, 7.0),
                  sd2i = c(1.3, 1.0, 3.5, 1.0, 2.0), n2i = c(94, 62, 80, 200, 25))
for (measure in c("RPB", "RBIS"))
  for (vtype in c("LS", "ST", "CS")) {
    if (measure == "RBIS" && vtype != "LS") next
    f <- capture(escalc(measure, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                        data = rpb, vtype = vtype))
    add(list(name = sprintf("d_to_r_%s_%s", measure, vtype), kind = "escalc", measure = measure,
             options = list(vtype = vtype),
             note = "metafor: d = (m1i - m2i) / pooled SD (no small-sample correction), hi = m/n1i + m/n2i with m = n1i + n2i - 2, RPB yi = d / sqrt(d^2 + hi)",
             input = as.list(rpb),
             expect = list(yi = arr(f$value$yi), vi = arr(f$value$vi), warnings = f$warnings)))
  }
# the uncorrected d that RPB starts from, via SMD with the correction removed is not exposed in 3.8.1;
# record metafor's SMD (bias-corrected g) on the same rows for completeness
f <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = rpb)
add(list(name = "d_to_r_SMD_same_rows", kind = "escalc", measure = "SMD", options = list(vtype = "LS"),
         input = as.list(rpb), expect = list(yi = arr(f$yi), vi = arr(f$vi))))

out <- list(meta = meta, cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE), "metafor_hard_cases.json")
cat(length(cases), "cases written\n")
