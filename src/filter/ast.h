// The syntax tree the parser produces: S-expressions with source positions, before any meaning
// is given to operators (compile.h does that). Internal to the filter module.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace triggerd::filter::internal {

struct Position {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in UTF-8 code points
};

struct Sexp {
  enum class Kind {
    kList,    // ( ... )
    kString,  // "quoted", or a bare atom that is not a number, true, false or null
    kNumber,
    kBool,
    kNull,
  };

  Kind kind = Kind::kNull;
  Position pos;
  bool quoted = false;        // kString: written in quotes
  std::string text;           // kString: the value; others: the atom as written
  boost::json::value number;  // kNumber: int64, uint64 or double
  bool boolean = false;       // kBool
  std::vector<Sexp> items;    // kList

  bool is_string() const { return kind == Kind::kString; }
  bool is_list() const { return kind == Kind::kList; }
};

}  // namespace triggerd::filter::internal
