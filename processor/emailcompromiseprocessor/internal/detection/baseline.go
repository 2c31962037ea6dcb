package detection

import (
	"math"
	"slices"
)

// robustThreshold is max(floor, factor x (mean + 2 x mean absolute
// deviation)) of a baseline's counts, with the highest left out when there
// are three or more, so that one earlier burst does not raise the bar; it
// also returns the mean. It sorts counts.
func robustThreshold(counts []float64, floor, factor float64) (threshold, mean float64) {
	if len(counts) >= 3 {
		slices.Sort(counts)
		counts = counts[:len(counts)-1]
	}
	var dev float64
	for _, c := range counts {
		mean += c
	}
	mean /= float64(len(counts))
	for _, c := range counts {
		dev += math.Abs(c - mean)
	}
	dev /= float64(len(counts))
	return math.Max(floor, factor*(mean+2*dev)), mean
}
