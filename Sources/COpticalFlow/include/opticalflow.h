// opticalflow: dense optical flow between two video frames with OpenCV's DIS (Dense Inverse
// Search, Kroeger et al., ECCV 2016), for video style transfer (Ruder et al., GCPR 2016).
// A C API only; the C++ stays in opticalflow.cpp. Errors come back as a status and a message:
// every C++ exception is caught, nothing aborts.
#ifndef NEURAL_STYLE_OPTICALFLOW_H
#define NEURAL_STYLE_OPTICALFLOW_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Statuses: 0 success, else one of these with `message` filled.
#define NSOF_ERR_ARGUMENT (-1)  // a null pointer or a size under 1
#define NSOF_ERR_OPENCV (-2)    // OpenCV threw (cv::Exception or another std::exception)
#define NSOF_ERR_NOMEM (-3)     // an allocation failed (std::bad_alloc)

// Dense flow from frame a to frame b. Both are width·height·3 bytes of 8-bit RGB, row-major,
// interleaved; they are converted to grey (ITU-R BT.601 luma) inside. `flow_xy` receives
// width·height·2 floats, interleaved (dx, dy) per pixel, row-major: pixel (x, y) of a
// corresponds to (x + dx, y + dy) in b, i.e. a(x, y) ≈ b(x + dx, y + dy).
//
// DIS runs with PRESET_MEDIUM and the overrides listed in opticalflow.cpp (finest scale 0, so
// the flow is estimated at full resolution, not upsampled from half). OpenCV runs on one
// thread and without OpenCL, so equal inputs give bit-identical flow on every call.
int nsof_dis_flow(const unsigned char *a_rgb, const unsigned char *b_rgb, int width, int height, float *flow_xy,
                  char *message, size_t message_size);

#ifdef __cplusplus
}
#endif
#endif
