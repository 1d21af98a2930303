# More escalc measures, zero-cell options, rma.mh and rma.peto, made with metafor (issue 13).
# Run from this directory:  Rscript metafor_escalc_more.R   (writes metafor_escalc_more.json)
# Inputs are stored under metafor's own argument names (ai, bi, ci, di, n1i, n2i, x1i, t1i, ...).
suppressMessages({library(metafor); library(jsonlite)})

meta <- list(made = format(Sys.Date()), R = R.version.string,
             metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")),
             script = "metafor_escalc_more.R",
             notes = I(c("escalc cases: expect.yi / expect.vi per row (null where metafor returns NA); options are escalc arguments (vtype, to, add, drop00) exactly as passed; an option absent means metafor's default.",
                         "metafor's defaults: add = 1/2, to = 'only0', drop00 = FALSE for escalc; measures AS, PHI, RTET, IRSD, PAS, PFT, IRS, IRFT default to add = 0.",
                         "mh / peto cases: rma.mh / rma.peto with their defaults unless options say otherwise (add = 1/2, to = 'only0', drop00 = TRUE, correct = TRUE for rma.mh); these options only affect the per-study yi/vi (and so QE/I2); the pooled MH/Peto estimate uses the raw counts. CO/COp is the Cochran-Mantel-Haenszel test (OR; correct = continuity correction), BD/BDp Breslow-Day, TA/TAp Tarone's test, MH/MHp the Mantel-Haenszel test for IRR.")))

capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)), class = "caperr")),
    warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  list(value = val, warnings = I(warns))
}
arr <- function(x) I(unname(as.numeric(x)))
nz <- function(x) if (is.null(x)) NA else x

cases <- list()
add_case <- function(x) cases[[length(cases) + 1]] <<- x

esc <- function(name, measure, input, options = list(), source = NULL) {
  f <- capture(do.call(escalc, c(list(measure = measure), input, options)))
  ex <- if (inherits(f$value, "caperr")) list(error = f$value$msg) else
    list(yi = arr(f$value$yi), vi = arr(f$value$vi))
  ex$warnings <- f$warnings
  add_case(list(name = name, kind = "escalc", measure = measure, options = options, source = source,
                input = lapply(input, function(v) I(v)), expect = ex))
}

## data
bcg <- with(dat.bcg, list(ai = tpos, bi = tneg, ci = cpos, di = cneg))
niel <- with(dat.nielweise2007, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
zt <- list(ai = c(0, 2, 0, 5, 1, 12, 0), bi = c(20, 18, 15, 45, 29, 0, 10),
           ci = c(3, 0, 0, 8, 4, 10, 0), di = c(17, 20, 15, 42, 26, 2, 12))
norm <- with(dat.normand1999, list(m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i))
norm1 <- with(dat.normand1999, list(mi = m1i, sdi = sd1i, ni = n1i))
hart <- with(dat.hart1999, list(x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i))
rates0 <- list(x1i = c(0, 3, 7, 0, 12), t1i = c(120, 95.5, 210, 80, 300),
               x2i = c(4, 0, 9, 0, 20), t2i = c(118, 101.2, 190, 85, 310))
# pre-post data (inline, in the shape of Morris 2008 / metafor's SMCC-SMCR example): m1i = post, m2i = pre
pp <- list(m1i = c(38.5, 26.8, 0.7, 75.9, 36.0), m2i = c(30.6, 23.5, 0.5, 53.4, 35.6),
           sd1i = c(11.6, 4.1, 0.1, 4.4, 4.6), sd2i = c(15.0, 3.1, 0.1, 14.5, 4.7),
           ni = c(20, 50, 9, 10, 14), ri = c(0.47, 0.64, 0.77, 0.89, 0.44))
aloe <- with(dat.aloe2013, list(ti = tval, ni = n, mi = preds, r2i = R2))
pritz <- with(dat.pritz1997, list(xi = xi, ni = ni))

## 2x2 measures on dat.bcg
for (m in c("PHI", "YUQ", "YUY", "RTET", "PBIT", "OR2DN", "OR2DL", "AS", "PETO")) {
  vts <- switch(m, PHI = c("ST", "LS", "CS"), list(NULL))
  for (vt in vts) {
    opt <- if (is.null(vt)) list() else list(vtype = vt)
    esc(paste0("bcg_", m, if (is.null(vt)) "" else paste0("_", vt)), m, bcg, opt, "dat.bcg (tpos, tneg, cpos, cneg)")
  }
}
## zero cells: OR / RR / RD (and others) with to / add / drop00
for (dn in c("zt", "niel")) {
  d <- get(dn)
  src <- if (dn == "zt") "inline 2x2 with zero cells (row 3 double zero, row 6 bi = 0, row 7 ai = ci = 0)" else
    "dat.nielweise2007 (ai, n1i, ci, n2i; study 15 double zero)"
  for (m in c("OR", "RR", "RD"))
    for (to in c("all", "only0", "if0all", "none"))
      for (addv in c(0.5, 0.25))
        for (d00 in c(FALSE, TRUE))
          esc(sprintf("%s_%s_to_%s_add_%g_drop00_%s", dn, m, to, addv, d00), m, d,
              list(to = to, add = addv, drop00 = d00), src)
  for (m in c("PHI", "YUQ", "YUY", "AS", "PETO", "OR2DN"))
    for (to in c("only0", "all"))
      esc(sprintf("%s_%s_to_%s_default_add", dn, m, to), m, d, list(to = to), src)
  for (m in c("PHI", "YUQ", "YUY", "AS"))
    esc(sprintf("%s_%s_to_all_add_0.5", dn, m), m, d, list(to = "all", add = 0.5), src)
}
## two-group means: RPB, RBIS, D2ORN, D2ORL, CVR, VR on dat.normand1999
for (m in c("RPB", "RBIS", "D2ORN", "D2ORL", "CVR", "VR")) {
  vts <- switch(m, RPB = c("LS", "CS"), list(NULL))
  for (vt in vts) {
    opt <- if (is.null(vt)) list() else list(vtype = vt)
    esc(paste0("normand_", m, if (is.null(vt)) "" else paste0("_", vt)), m, norm, opt, "dat.normand1999")
  }
}
## one-group means: MN, MNLN, CVLN, SDLN (dat.normand1999, group 1)
for (m in c("MN", "MNLN", "CVLN", "SDLN")) esc(paste0("normand1_", m), m, norm1, list(), "dat.normand1999 group 1 (m1i, sd1i, n1i as mi, sdi, ni)")
## pre-post: SMCC, SMCR, SMCRH, MC, ROMC
for (m in c("SMCC", "SMCR", "SMCRH", "MC", "ROMC")) {
  vts <- switch(m, SMCC = c("LS", "LS2"), SMCR = c("LS", "LS2"), list(NULL))
  for (vt in vts) {
    inp <- if (m == "SMCR") pp[c("m1i", "m2i", "sd1i", "ni", "ri")] else pp
    opt <- if (is.null(vt)) list() else list(vtype = vt)
    esc(paste0("prepost_", m, if (is.null(vt)) "" else paste0("_", vt)), m, inp, opt,
        "inline pre-post data, m1i = post, m2i = pre, sd1i/sd2i their SDs, ri the pre-post correlation")
  }
}
## partial and semi-partial correlations (dat.aloe2013)
esc("aloe_PCOR", "PCOR", aloe[c("ti", "ni", "mi")], list(), "dat.aloe2013 (tval, n, preds, R2)")
esc("aloe_ZPCOR", "ZPCOR", aloe[c("ti", "ni", "mi")], list(), "dat.aloe2013")
esc("aloe_SPCOR", "SPCOR", aloe, list(), "dat.aloe2013")
## rates: IRR, IRD, IRSD (dat.hart1999 and an inline table with zero counts)
for (m in c("IRR", "IRD", "IRSD")) {
  esc(paste0("hart_", m), m, hart, list(), "dat.hart1999 (x1i, t1i, x2i, t2i)")
  for (to in c("only0", "all", "if0all", "none"))
    esc(sprintf("rates0_%s_to_%s", m, to), m, rates0, list(to = to), "inline rates with zero counts (row 4 both zero)")
  esc(sprintf("rates0_%s_to_all_add_0.5", m), m, rates0, list(to = "all", add = 0.5), "inline rates with zero counts")
  esc(sprintf("rates0_%s_drop00", m), m, rates0, list(drop00 = TRUE), "inline rates with zero counts")
}
## proportions: PAS (and PR, PLO, PFT) on dat.pritz1997
for (m in c("PAS", "PR", "PLO", "PFT")) esc(paste0("pritz_", m), m, pritz, list(), "dat.pritz1997 (xi, ni)")

## rma.mh and rma.peto
mh_out <- function(r) {
  list(beta = as.numeric(r$beta), se = r$se, ci_lb = r$ci.lb, ci_ub = r$ci.ub, zval = r$zval, pval = r$pval,
       tau2 = r$tau2, QE = r$QE, QEp = r$QEp, I2 = r$I2, H2 = r$H2,
       CO = nz(r$CO), COp = nz(r$COp), MH = nz(r$MH), MHp = nz(r$MHp), BD = nz(r$BD), BDp = nz(r$BDp),
       TA = nz(r$TA), TAp = nz(r$TAp), k = r$k, k_yi = r$k.yi, k_eff = r$k.eff, k_pos = nz(r$k.pos),
       ll = as.numeric(r$fit.stats["ll", "ML"]), yi = arr(r$yi.f), vi = arr(r$vi.f))
}
mh_case <- function(name, fun, measure, input, options = list(), source = NULL) {
  f <- capture(do.call(fun, c(if (fun == "rma.mh") list(measure = measure) else list(), input, options)))
  ex <- if (inherits(f$value, "caperr")) list(error = f$value$msg) else mh_out(f$value)
  ex$warnings <- f$warnings
  add_case(list(name = name, kind = if (fun == "rma.mh") "mh" else "peto", measure = measure,
                options = options, source = source, input = lapply(input, function(v) I(v)), expect = ex))
}
for (dn in c("niel", "zt", "bcg")) {
  d <- get(dn)
  src <- switch(dn, niel = "dat.nielweise2007", zt = "inline 2x2 with zero cells", bcg = "dat.bcg")
  for (m in c("OR", "RR", "RD")) {
    mh_case(sprintf("%s_mh_%s", dn, m), "rma.mh", m, d, list(), src)
    mh_case(sprintf("%s_mh_%s_correct_FALSE", dn, m), "rma.mh", m, d, list(correct = FALSE), src)
    mh_case(sprintf("%s_mh_%s_to_all_drop00_FALSE", dn, m), "rma.mh", m, d, list(to = "all", drop00 = FALSE), src)
  }
  mh_case(sprintf("%s_peto", dn), "rma.peto", "PETO", d, list(), src)
  mh_case(sprintf("%s_peto_to_all_drop00_FALSE", dn), "rma.peto", "PETO", d, list(to = "all", drop00 = FALSE), src)
}
for (m in c("IRR", "IRD")) {
  mh_case(sprintf("hart_mh_%s", m), "rma.mh", m, hart, list(), "dat.hart1999")
  mh_case(sprintf("rates0_mh_%s", m), "rma.mh", m, rates0, list(), "inline rates with zero counts")
}

out <- list(meta = meta, cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE), "metafor_escalc_more.json")
cat(length(cases), "cases written\n")
