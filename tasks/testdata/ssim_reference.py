# Reference SSIM and PSNR values for tasks/metrics_test.go, from
# scikit-image 0.19.3 (Debian bookworm's python3-skimage) run by
# /usr/bin/python3. The test images are generated the same way in Go:
#   a[c][y][x] = (sin(0.3*x + 0.2*y + c) + 1) / 2
#   b          = clip(a + 0.1*sin(1.7*x*y + c), 0, 1)
# over 3 channels of 20 rows x 24 columns (CHW), float64.
import numpy as np
from skimage.metrics import structural_similarity, peak_signal_noise_ratio

C, H, W = 3, 20, 24
y, x = np.mgrid[0:H, 0:W].astype(np.float64)
a = np.stack([(np.sin(0.3 * x + 0.2 * y + c) + 1) / 2 for c in range(C)])
b = np.clip(a + 0.1 * np.stack([np.sin(1.7 * x * y + c) for c in range(C)]), 0, 1)
# Grey: the first channel alone.
print("ssim grey  %.10f" % structural_similarity(a[0], b[0], gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, data_range=1))
print("ssim rgb   %.10f" % structural_similarity(a, b, channel_axis=0, gaussian_weights=True, sigma=1.5,
      use_sample_covariance=False, data_range=1))
print("psnr rgb   %.10f" % peak_signal_noise_ratio(a, b, data_range=1))
