# The README main example's betahat/sigma (TWFE of dins on year x D, ref 2013, state and year FE,
# clustered by state as fixest: CR1 x G/(G-1) x (n-1)/(n-K), year FE counted in K, state FE nested)
# rebuilt with base R lm from the data in the README knitr cache (chunk 8); run from README_cache/gfm.
# Output paths: edit /tmp/hd/ to this directory to rerun.
e <- new.env(); lazyLoad(sub("\\.rdb$", "", list.files(pattern = "chunk-8_.*rdb$")), envir = e)
df <- as.data.frame(e$df_nonstaggered)
yrs <- setdiff(sort(unique(df$year)), 2013)
for (y in yrs) df[[paste0("ev", y)]] <- as.numeric(df$year == y) * df$D
f <- as.formula(paste("dins ~", paste0("ev", yrs, collapse = " + "), "+ factor(stfips) + factor(year)"))
fit <- lm(f, data = df)
X <- model.matrix(fit); u <- resid(fit); XtXi <- solve(crossprod(X))
cl <- df$stfips; G <- length(unique(cl)); n <- nrow(X)
meat <- Reduce(`+`, lapply(split(seq_len(n), cl), function(i) { s <- crossprod(X[i, , drop = FALSE], u[i]); s %*% t(s) }))
V <- XtXi %*% meat %*% XtXi
idx <- paste0("ev", yrs)
K <- length(idx) + length(unique(df$year)) - 1 + 1  # fixest nested: coefs + year FE (+ intercept-equivalent)
V <- V[idx, idx] * G / (G - 1) * (n - 1) / (n - K)
cat("n", n, "G", G, "K", K, "\n")
write.csv(data.frame(term = idx, betahat = sprintf("%.17g", coef(fit)[idx])), "main_betahat.csv", row.names = FALSE)
write.csv(apply(V, 2, function(x) sprintf("%.17g", x)), "main_sigma.csv", row.names = FALSE)
print(coef(fit)[idx]); print(sqrt(diag(V)))
