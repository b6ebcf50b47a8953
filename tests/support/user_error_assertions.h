// Checks that code fails with a one-line UserError mentioning given fragments
// (typically a file path and a key phrase).
#pragma once

#include "core/errors.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

namespace tutorial::testdata {

// Use as EXPECT_TRUE(throws_user_error([&] { ... }, {path, "phrase"})).
template <typename Body>
::testing::AssertionResult throws_user_error(Body&& body,
                                             std::initializer_list<std::string> fragments) {
  try {
    body();
  } catch (const UserError& error) {
    const std::string message = error.what();
    if (message.find('\n') != std::string::npos) {
      return ::testing::AssertionFailure() << "message is not one line: " << message;
    }
    for (const std::string& fragment : fragments) {
      if (message.find(fragment) == std::string::npos) {
        return ::testing::AssertionFailure()
               << "message \"" << message << "\" lacks \"" << fragment << "\"";
      }
    }
    return ::testing::AssertionSuccess() << message;
  } catch (const std::exception& error) {
    return ::testing::AssertionFailure() << "threw a non-UserError: " << error.what();
  }
  return ::testing::AssertionFailure() << "threw nothing";
}

}  // namespace tutorial::testdata
