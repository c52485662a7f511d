#pragma once
// The training objective: a job trains a trial's network to its budget, continuing from the trial's checkpoint,
// records every epoch (measurements and every estimator's score) through the study's epoch sink, and returns the
// search's estimator score. A configuration that fails (an exception, out of memory, shapes that do not fit) or
// diverges (a non-finite loss or score) is an outcome, not an error; a journal or machine failure is an error (the
// search stops and a resume reruns the job).
#include <memory>
#include <nlohmann/json.hpp>

#include "exec/executor.hpp"
#include "score/scores.hpp"
#include "study/study.hpp"

namespace fhist::models {
struct ModelSpec;
}
namespace fhist::data {
struct Dataset;
}
namespace fhist::train {
struct TrainOptions;
struct EpochRecord;
}

namespace fhist::objective {

// Loads the search's data (its train / validation split, and the test set with test_accuracy) and checks that the
// space's configurations become networks, so that a new search refuses bad options before its journal exists.
// InputError for bad data or settings; InputError naming the journal when it ran on a CUDA device and this host has
// none (a resume then says to pass --device cpu).
std::unique_ptr<exec::Objective> make_training_objective(const study::ObjectiveContext& ctx);
// make_training_objective as what run_study, resume_study and serve_mpi_worker take.
study::MakeObjective training();

// A trial's network and training options: the study's defaults, overridden by the configuration's parameters
// (lr, weight_decay, momentum, batch_size, width_mult, model, ra_n/ra_m for RandAugment, edge_* for NAS-Bench-201
// cells, normal_*/reduce_* for DARTS cells, d*/w* for resnet-scale, depth/width/dropout for the mlp). Throws InputError for an unknown key or a
// parameter of the wrong type.
void apply_config(const space::Config& config, const study::StudyOptions& options, train::TrainOptions& train,
                  models::ModelSpec& model);

// The network's input and output sizes from the data it trains on (channels, classes, values per example). Throws
// InputError when the network cannot take the data (a table of numbers trains the mlp only).
void fit_model_to_data(models::ModelSpec& spec, const data::Dataset& ds);

// One epoch of training as the estimator registry reads it.
score::EpochMeasures epoch_measures(const train::EpochRecord& rec);
// The journal's row for an epoch (also `train --json`'s): the measurements, window_acc, params and every registry
// estimator's score after that epoch (`upto`: the trial's history through it), so that a finished search can be
// re-ranked by any estimator offline.
nlohmann::json epoch_row(const train::EpochRecord& rec, const score::TrialHistory& upto);

}  // namespace fhist::objective
