// Everything of sq::data: readers, data sets by name, augmentation and normalisation, the BatchLoader.
#pragma once

#include "sq/data/augment.hpp"
#include "sq/data/batch_loader.hpp"
#include "sq/data/dataset.hpp"
#include "sq/data/datasets.hpp"
