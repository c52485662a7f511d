#pragma once
// Typed exceptions. Bad user input gets one of these with a message a user can act on; internal invariants use
// assert/TORCH_CHECK instead.
#include <stdexcept>
#include <string>

namespace fhist {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A flag, option or configuration value is out of range or inconsistent with another.
class InputError : public Error {
 public:
  using Error::Error;
};

// A data file is missing, truncated, or not in the expected format.
class DataError : public Error {
 public:
  using Error::Error;
};

// A checkpoint cannot be read, or does not belong to the run that tries to continue from it.
class CheckpointError : public Error {
 public:
  using Error::Error;
};

// The machine or the setup cannot go on (a disk that refuses writes, a checkpoint from other settings, a device
// that is gone): not the trial's fault, so a search stops cleanly instead of recording it, and resumes later.
class EnvironmentError : public Error {
 public:
  using Error::Error;
};

// Training produced a non-finite loss.
class DivergedError : public Error {
 public:
  using Error::Error;
};

}  // namespace fhist
