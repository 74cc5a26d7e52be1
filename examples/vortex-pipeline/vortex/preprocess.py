import numpy as np

SIZE = 224


def normalize_frame(frame, mean, std):
    out = np.empty((SIZE, SIZE, 3), dtype=np.float32)
    for y in range(SIZE):
        for x in range(SIZE):
            for c in range(3):
                out[y][x][c] = (frame[y][x][c] / 255.0 - mean[c]) / std[c]
    return out


def channel_means(frame):
    # A loop over 3 channels: small and fixed, not CPU-heavy.
    return [sum(frame[c]) / len(frame[c]) for c in range(3)]
