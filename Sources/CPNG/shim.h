#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
#include <png.h>
// libpng's simplified API (png_image_*) reports errors in a fixed char array and sizes buffers
// with function-like macros; Swift imports neither conveniently, so these prefixed helpers do.
static inline const char *cpng_image_message(const png_image *image) { return image->message; }
static inline png_uint_32 cpng_image_version(void) { return PNG_IMAGE_VERSION; }
static inline png_uint_32 cpng_format_rgb(void) { return PNG_FORMAT_RGB; }
static inline png_uint_32 cpng_image_warning(void) { return PNG_IMAGE_WARNING; }
static inline png_uint_32 cpng_image_error(void) { return PNG_IMAGE_ERROR; }
static inline const char *cpng_library_version(void) { return PNG_LIBPNG_VER_STRING; }
#endif
