# The Python package, imported when first used: reticulate picks the Python
# then (RETICULATE_PYTHON, or a virtualenv it finds), as keras3 does.
plugin <- NULL

.onLoad <- function(libname, pkgname) {
  plugin <<- reticulate::import("keras_ct_plugin", delay_load = TRUE)
}

# R doubles that hold whole numbers become Python ints, vectors and lists
# become tuples (nested lists, nested tuples); anything else goes through
# unchanged, for the layer's own argument checks to name.
as_py_int <- function(x) {
  if (is.null(x) || is.character(x) || is.logical(x)) {
    return(x)
  }
  if (is.list(x) || length(x) > 1) {
    return(reticulate::tuple(lapply(unname(as.list(x)), as_py_int)))
  }
  if (is.double(x) && length(x) == 1 && is.finite(x) && x == trunc(x) &&
      abs(x) <= .Machine$integer.max) {
    return(as.integer(x))
  }
  x
}

# keras3's convention: no `object` gives the layer, a Sequential model gets
# it added (and is returned), anything else (a tensor, an array) has the
# layer applied to it.
compose_layer <- function(object, layer) {
  if (missing(object) || is.null(object)) {
    return(layer)
  }
  if (inherits(object, "keras.src.models.sequential.Sequential")) {
    object$add(layer)
    return(invisible(object))
  }
  layer(object)
}

create_layer <- function(class_name, object, args) {
  integers <- c("filters", "kernel_size", "strides", "padding", "output_padding",
                "dilation_rate", "groups", "lora_rank")
  for (name in intersect(names(args), integers)) {
    if (!is.null(args[[name]])) {
      args[[name]] <- as_py_int(args[[name]])
    }
  }
  layer <- do.call(plugin[[class_name]], args)
  compose_layer(object, layer)
}
