/*
 * libvips alone on the benchmark's transforms, with no server around it: CPU time per image,
 * one image at a time, one libvips thread, no operation cache (as tinycdn and imgproxy run it).
 * bench/floor.ts compiles it against sharp's own libvips and, when installed, Debian's.
 *
 *   floor fit|fill jpeg|webp N FILE...
 *
 * fit:  decode at 1/8 (shrink-on-load), Lanczos 3 to 300 px wide (rs:fit:300:300 of 2560x1600)
 * fill: decode at 1/4, centre crop 600x400 (rs:fill:600:400)
 * then JPEG q80 with optimised Huffman tables, or WebP q79 effort 4; metadata stripped
 * ("strip": the option both libvips 8.14 and 8.18 take).
 * Prints one line: the libvips version, the transform, ms of CPU per image, average bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vips/vips.h>

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int transform(int fit, int webp, const char *file, size_t *bytes) {
  VipsImage *in, *out;
  void *buf;
  if (vips_jpegload(file, &in, "shrink", fit ? 8 : 4, "fail_on", VIPS_FAIL_ON_NONE,
                    "access", VIPS_ACCESS_SEQUENTIAL, NULL))
    return -1;
  int failed = fit ? vips_resize(in, &out, 300.0 / in->Xsize, "kernel", VIPS_KERNEL_LANCZOS3, NULL)
                   : vips_extract_area(in, &out, (in->Xsize - 600) / 2, (in->Ysize - 400) / 2, 600, 400, NULL);
  g_object_unref(in);
  if (failed) return -1;
  failed = webp ? vips_webpsave_buffer(out, &buf, bytes, "Q", 79, "effort", 4, "strip", TRUE, NULL)
                : vips_jpegsave_buffer(out, &buf, bytes, "Q", 80, "optimize_coding", TRUE,
                                       "strip", TRUE, NULL);
  g_object_unref(out);
  if (failed) return -1;
  g_free(buf);
  return 0;
}

int main(int argc, char **argv) {
  if (VIPS_INIT(argv[0])) vips_error_exit(NULL);
  if (argc < 5 || (strcmp(argv[1], "fit") && strcmp(argv[1], "fill")) ||
      (strcmp(argv[2], "jpeg") && strcmp(argv[2], "webp")) || atoi(argv[3]) < 1) {
    fprintf(stderr, "usage: %s fit|fill jpeg|webp N FILE...\n", argv[0]);
    return 2;
  }
  vips_concurrency_set(1);
  vips_cache_set_max(0);
  int fit = strcmp(argv[1], "fit") == 0, webp = strcmp(argv[2], "webp") == 0;
  int n = atoi(argv[3]), files = argc - 4;
  size_t bytes, total = 0;
  /* One pass over the files first: page cache, libvips' start-up, the codecs' tables. */
  for (int i = 0; i < files; i++)
    if (transform(fit, webp, argv[4 + i], &bytes)) vips_error_exit(NULL);
  double start = cpu_ms();
  for (int i = 0; i < n; i++) {
    if (transform(fit, webp, argv[4 + i % files], &bytes)) vips_error_exit(NULL);
    total += bytes;
  }
  printf("libvips %s %s %s: %.2f ms %zu bytes\n", vips_version_string(), argv[1], argv[2],
         (cpu_ms() - start) / n, total / n);
  return 0;
}
