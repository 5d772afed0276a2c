#include "filter/compile.h"

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filter/path.h"

namespace triggerd::filter::internal {
namespace {

// How an operator's arguments are checked.
enum class Form {
  kLogical,    // and, or: any number of expressions
  kNot,        // exactly one expression
  kAnyValue,   // field + any literal (eq, has)
  kString,     // field + string
  kRegex,      // field + string that RE2 compiles
  kNumber,     // field + number
  kList,       // field + non-empty list
  kFieldOnly,  // exists
};

struct OpInfo {
  std::string_view name;
  Op op;
  Form form;
  // For people and prompts (filter::Operators()): when it is true, and an example that
  // compiles (tests/nlfilter/prompt_test.cc compiles every example).
  std::string_view meaning;
  std::string_view example;
};

// Mirror any change here in OpName() below; the meanings follow the operator table of
// ../shared/filter-language.md.
constexpr std::array<OpInfo, 17> kOps = {{
    {"and", Op::kAnd, Form::kLogical, "every child expression is true; (and) is true",
     R"((and (eq "action" "opened") (exists "pull_request")))"},
    {"or", Op::kOr, Form::kLogical, "some child expression is true; (or) is false",
     R"((or (eq "action" "opened") (eq "action" "reopened")))"},
    {"not", Op::kNot, Form::kNot, "the one child expression is false",
     R"((not (exists "pull_request.merged_at")))"},
    {"eq", Op::kEq, Form::kAnyValue,
     "the field equals the scalar value (string, number, true/false or null; no coercion: "
     "\"42\" is not 42)",
     R"((eq "action" "opened"))"},
    {"starts-with", Op::kStartsWith, Form::kString,
     "the field is a string starting with the text (case-sensitive)",
     R"((starts-with "ref" "refs/heads/release/"))"},
    {"contains", Op::kContains, Form::kString,
     "the field is a string containing the text (case-sensitive)",
     R"((contains "pull_request.title" "hotfix"))"},
    {"ends-with", Op::kEndsWith, Form::kString,
     "the field is a string ending with the text (case-sensitive)",
     R"((ends-with "repository.full_name" "/api"))"},
    {"matches", Op::kMatches, Form::kRegex,
     "the field is a string in which the RE2 regular expression finds a match",
     R"((matches "pull_request.title" "^(feat|fix): "))"},
    {"has", Op::kHas, Form::kAnyValue, "the field is an array with an element equal to the value",
     R"((has "pull_request.labels.*.name" "bug"))"},
    {"has-all", Op::kHasAll, Form::kList,
     "the field is an array holding every value of the non-empty list",
     R"((has-all "issue.labels.*.name" ("bug" "p1")))"},
    {"has-any", Op::kHasAny, Form::kList,
     "the field is an array holding at least one value of the non-empty list",
     R"((has-any "issue.labels.*.name" ("wip" "do-not-review")))"},
    {"in", Op::kIn, Form::kList, "the field is a scalar equal to one value of the non-empty list",
     R"((in "action" ("opened" "reopened")))"},
    {"gt", Op::kGt, Form::kNumber, "the field is a number greater than the number",
     R"((gt "pull_request.changed_files" 20))"},
    {"gte", Op::kGte, Form::kNumber, "the field is a number greater than or equal to the number",
     R"((gte "pull_request.additions" 100))"},
    {"lt", Op::kLt, Form::kNumber, "the field is a number less than the number",
     R"((lt "pull_request.title.length" 10))"},
    {"lte", Op::kLte, Form::kNumber, "the field is a number less than or equal to the number",
     R"((lte "issue.comments" 3))"},
    {"exists", Op::kExists, Form::kFieldOnly,
     "the field is present and not null (false, 0, \"\", [] and {} exist)",
     R"((exists "pull_request.merged_at"))"},
}};

// The shape of an operator's arguments, as Operators() shows it.
std::string_view FormUsage(Form form) {
  switch (form) {
    case Form::kLogical:
      return "expression...";
    case Form::kNot:
      return "expression";
    case Form::kAnyValue:
      return "field value";
    case Form::kString:
      return "field \"text\"";
    case Form::kRegex:
      return "field \"regex\"";
    case Form::kNumber:
      return "field number";
    case Form::kList:
      return "field (value...)";
    case Form::kFieldOnly:
      return "field";
  }
  return "";
}

const OpInfo* FindOp(std::string_view name) {
  for (const OpInfo& info : kOps) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

// Built with append: `"\"" + std::string(s) + "\""` trips GCC 12's -Wrestrict false positive.
std::string Quote(std::string_view s) {
  std::string quoted;
  quoted.reserve(s.size() + 2);
  quoted.push_back('"');
  quoted.append(s);
  quoted.push_back('"');
  return quoted;
}

// Lists (allowed as values only to keep Dust's filters compiling) become arrays, which never
// equal a payload value.
boost::json::value ToLiteral(const Sexp& sexp) {
  switch (sexp.kind) {
    case Sexp::Kind::kString:
      return boost::json::value(sexp.text);
    case Sexp::Kind::kNumber:
      return sexp.number;
    case Sexp::Kind::kBool:
      return boost::json::value(sexp.boolean);
    case Sexp::Kind::kNull:
      return boost::json::value(nullptr);
    case Sexp::Kind::kList: {
      boost::json::array array;
      array.reserve(sexp.items.size());
      for (const Sexp& item : sexp.items) array.push_back(ToLiteral(item));
      return boost::json::value(std::move(array));
    }
  }
  return boost::json::value(nullptr);
}

class Compiler {
 public:
  bool CompileExpression(const Sexp& sexp, Node* out) {
    if (!sexp.is_list()) return Fail(sexp.pos, "expected an expression in parentheses");
    if (sexp.items.empty()) return Fail(sexp.pos, "empty expression \"()\"");
    const Sexp& head = sexp.items[0];
    if (head.is_list()) return Fail(head.pos, "expected an operator name, found a list");
    const OpInfo* info = FindOp(head.text);
    if (info == nullptr || !head.is_string()) {
      return Fail(head.pos, "unknown operator " + Quote(head.text));
    }
    out->op = info->op;
    out->pos = sexp.pos;
    const std::size_t argc = sexp.items.size() - 1;
    const std::string name(info->name);

    switch (info->form) {
      case Form::kLogical:
        out->children.resize(argc);
        for (std::size_t i = 0; i < argc; ++i) {
          if (!CompileOperand(name, sexp.items[i + 1], &out->children[i])) return false;
        }
        return true;
      case Form::kNot:
        if (argc != 1) return Fail(sexp.pos, "not requires exactly one expression");
        out->children.resize(1);
        return CompileOperand(name, sexp.items[1], &out->children[0]);
      case Form::kFieldOnly:
        if (argc != 1) return Fail(sexp.pos, name + " requires exactly one field");
        return CompileField(name, sexp.items[1], &out->path);
      default:
        break;
    }

    if (argc != 2) {
      return Fail(sexp.pos,
                  name + (info->form == Form::kList ? " requires a field and a list of values"
                                                    : " requires a field and a value"));
    }
    if (!CompileField(name, sexp.items[1], &out->path)) return false;
    const Sexp& value = sexp.items[2];
    switch (info->form) {
      case Form::kAnyValue:
        break;
      case Form::kString:
        if (!value.is_string()) return Fail(value.pos, "value must be a string for " + name);
        break;
      case Form::kRegex:
        if (!value.is_string()) {
          return Fail(value.pos, "regular expression must be a string for " + name);
        }
        if (!CompileRegex(value, out)) return false;
        break;
      case Form::kNumber:
        if (value.kind != Sexp::Kind::kNumber) {
          return Fail(value.pos, "value must be a number for " + name);
        }
        break;
      case Form::kList:
        if (!value.is_list() || value.items.empty()) {
          return Fail(value.pos, name + " requires a non-empty list of values");
        }
        break;
      default:
        break;
    }
    out->expected = ToLiteral(value);
    return true;
  }

  const CompileError& error() const { return error_; }

 private:
  bool Fail(Position pos, std::string message) {
    error_ = {pos.line, pos.column, std::move(message)};
    return false;
  }

  // A child of and/or/not: an expression, not a bare value.
  bool CompileOperand(const std::string& parent, const Sexp& sexp, Node* out) {
    if (!sexp.is_list()) {
      return Fail(sexp.pos, parent + " takes expressions, not values");
    }
    return CompileExpression(sexp, out);
  }

  bool CompileField(const std::string& op, const Sexp& field, Path* out) {
    if (!field.is_string()) return Fail(field.pos, "field must be a string for " + op);
    std::string message;
    if (!CompilePath(field.text, out, &message)) return Fail(field.pos, std::move(message));
    return true;
  }

  bool CompileRegex(const Sexp& pattern, Node* out) {
    if (++regex_count_ > kMaxRegexes) {
      return Fail(pattern.pos, "more than " + std::to_string(kMaxRegexes) +
                                   " regular expressions in one filter");
    }
    RE2::Options options;
    options.set_log_errors(false);  // the error is returned to the user instead
    options.set_max_mem(kRegexMaxMemBytes);
    auto regex = std::make_unique<RE2>(pattern.text, options);
    if (!regex->ok()) {
      return Fail(pattern.pos, "invalid regular expression for matches: " + regex->error());
    }
    // Evaluation charges every byte once per instruction (RE2's worst case), so a large program
    // could hardly run within the budget; and a counted repetition grows it without bound.
    if (regex->ProgramSize() > kMaxRegexProgramSize) {
      return Fail(pattern.pos, "regular expression for matches is too large: its RE2 program has " +
                                   std::to_string(regex->ProgramSize()) +
                                   " instructions, at most " +
                                   std::to_string(kMaxRegexProgramSize) +
                                   " (counted repetitions such as {1000} multiply it)");
    }
    out->regex = std::move(regex);
    return true;
  }

  CompileError error_;
  int regex_count_ = 0;
};

}  // namespace

std::string_view OpName(Op op) {
  for (const OpInfo& info : kOps) {
    if (info.op == op) return info.name;
  }
  return "?";
}

std::vector<OperatorInfo> OperatorTable() {
  std::vector<OperatorInfo> table;
  table.reserve(kOps.size());
  for (const OpInfo& info : kOps) {
    std::string usage = "(";
    usage.append(info.name).append(" ").append(FormUsage(info.form)).append(")");
    table.push_back({info.name, std::move(usage), info.meaning, info.example});
  }
  return table;
}

std::unique_ptr<Program> CompileProgram(const Sexp& expression, CompileError* error) {
  auto program = std::make_unique<Program>();
  Compiler compiler;
  if (!compiler.CompileExpression(expression, &program->root)) {
    *error = compiler.error();
    return nullptr;
  }
  return program;
}

}  // namespace triggerd::filter::internal
