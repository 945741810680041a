// OpenBLAS's CBLAS header (Debian: libopenblas-dev installs it on the multiarch include path).
#include <cblas.h>
