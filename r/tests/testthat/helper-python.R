keras <- reticulate::import("keras")
np <- reticulate::import("numpy", convert = FALSE)

# An R array of uniform(-1, 1) values.
uniform <- function(...) {
  dims <- c(...)
  array(runif(prod(dims), -1, 1), dim = dims)
}

# A tensor of any backend, as an R array's dimensions.
shape_of <- function(tensor) dim(keras$ops$convert_to_numpy(tensor))

python_exe <- function() reticulate::py_config()$python
