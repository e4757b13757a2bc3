// SPDX-License-Identifier: MIT
// DbResult, Rows, Row, Field: a query's outcome, copied out of the host's
// qv_db_result_t during its callback so it can outlive it.
#pragma once

#include <quiver/plugin.h>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace quiver {

/// Thrown by Field::as<T>() for NULL or unconvertible values and by
/// Row::operator[] for unknown columns.
class DbError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// How a query ended.
enum class DbStatus {
    kOk,            // rows (possibly none) or a command completed
    kError,         // the server refused it (see sqlstate) or a bad argument
    kUnavailable,   // no connection could serve it (fail fast: answer 503)
    kTimeout,       // ran past the query deadline
    kCanceled,      // cancelled
    kNotSupported,  // the host offers no database
};

constexpr std::string_view to_string(DbStatus s) noexcept {
    switch (s) {
        case DbStatus::kOk: return "ok";
        case DbStatus::kError: return "error";
        case DbStatus::kUnavailable: return "unavailable";
        case DbStatus::kTimeout: return "timeout";
        case DbStatus::kCanceled: return "canceled";
        case DbStatus::kNotSupported: return "not supported";
    }
    return "unknown";
}

namespace detail {
struct Cell {
    std::size_t off;
    std::size_t len;
    bool null;
};
}  // namespace detail

class Rows;

/// One field, in PostgreSQL text format. Valid while its Rows live (and are
/// not moved).
class Field {
public:
    Field(const Rows* rows, std::size_t col, const detail::Cell* cell) noexcept
        : rows_(rows), col_(col), cell_(cell) {}

    bool is_null() const noexcept { return cell_->null; }
    /// The raw text ("" for NULL).
    std::string_view text() const noexcept;
    std::string_view column() const noexcept;

    /// The value as T: std::string_view, std::string, bool (t/f/true/false),
    /// an integer or floating type (the whole text must parse), or
    /// std::optional<T> of those, which is empty for NULL. Throws DbError for
    /// NULL (unless optional) or text that does not convert.
    template <typename T>
    T as() const {
        if constexpr (is_optional<T>::value) {
            if (is_null()) return std::nullopt;
            return as<typename T::value_type>();
        } else {
            if (is_null()) fail("is NULL");
            const std::string_view s = text();
            if constexpr (std::is_same_v<T, std::string_view>) {
                return s;
            } else if constexpr (std::is_same_v<T, std::string>) {
                return std::string(s);
            } else if constexpr (std::is_same_v<T, bool>) {
                if (s == "t" || s == "true") return true;
                if (s == "f" || s == "false") return false;
                fail("is not a boolean");
            } else if constexpr (std::is_arithmetic_v<T>) {
                T v{};
                const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
                if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
                    fail(std::is_integral_v<T> ? "is not an integer in range" : "is not a number");
                }
                return v;
            } else {
                static_assert(sizeof(T) == 0, "Field::as<T>: unsupported type");
            }
        }
    }

private:
    template <typename T>
    struct is_optional : std::false_type {};
    template <typename T>
    struct is_optional<std::optional<T>> : std::true_type {};

    [[noreturn]] void fail(std::string_view why) const {
        throw DbError("column \"" + std::string(column()) + "\" " + std::string(why));
    }

    const Rows* rows_;
    std::size_t col_;
    const detail::Cell* cell_;
};

/// One row: fields by index or by column name.
class Row {
public:
    Row(const Rows* rows, std::size_t index) noexcept : rows_(rows), index_(index) {}
    std::size_t size() const noexcept;
    Field operator[](std::size_t col) const noexcept;
    /// Throws DbError when no column has this name.
    Field operator[](std::string_view column) const;

private:
    const Rows* rows_;
    std::size_t index_;
};

/// The rows of a result, owned (one buffer for all the text).
class Rows {
public:
    Rows() = default;
    explicit Rows(const qv_db_result_t& r) {
        const std::size_t nrows = r.nrows > 0 ? static_cast<std::size_t>(r.nrows) : 0;
        const std::size_t ncols = r.ncols > 0 ? static_cast<std::size_t>(r.ncols) : 0;
        const std::size_t ncells = (r.values != nullptr) ? nrows * ncols : 0;
        std::size_t bytes = 0;
        for (std::size_t j = 0; r.columns != nullptr && j < ncols; ++j) bytes += r.columns[j].len;
        for (std::size_t i = 0; i < ncells; ++i) bytes += r.values[i].len;
        data_.reserve(bytes);
        columns_.reserve(ncols);
        cells_.reserve(ncells);
        for (std::size_t j = 0; j < ncols; ++j) {
            columns_.push_back(copy(r.columns != nullptr ? r.columns[j] : qv_str_t{nullptr, 0}));
        }
        for (std::size_t i = 0; i < ncells; ++i) cells_.push_back(copy(r.values[i]));
        nrows_ = (ncols == 0 || r.values != nullptr) ? nrows : 0;
    }

    std::size_t size() const noexcept { return nrows_; }
    bool empty() const noexcept { return nrows_ == 0; }
    std::size_t columns() const noexcept { return columns_.size(); }
    std::string_view column_name(std::size_t j) const noexcept { return view(columns_[j]); }
    /// The index of the first column named `name`.
    std::optional<std::size_t> column_index(std::string_view name) const noexcept {
        for (std::size_t j = 0; j < columns_.size(); ++j) {
            if (view(columns_[j]) == name) return j;
        }
        return std::nullopt;
    }
    Row operator[](std::size_t i) const noexcept { return Row(this, i); }

    class iterator {
    public:
        using value_type = Row;
        using difference_type = std::ptrdiff_t;
        iterator() noexcept = default;
        iterator(const Rows* r, std::size_t i) noexcept : r_(r), i_(i) {}
        Row operator*() const noexcept { return Row(r_, i_); }
        iterator& operator++() noexcept {
            ++i_;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator t = *this;
            ++i_;
            return t;
        }
        bool operator==(const iterator&) const noexcept = default;

    private:
        const Rows* r_ = nullptr;
        std::size_t i_ = 0;
    };
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const noexcept { return iterator(this, nrows_); }

private:
    friend class Field;
    friend class Row;

    detail::Cell copy(qv_str_t s) {
        const detail::Cell c{data_.size(), s.len, s.ptr == nullptr};
        if (s.ptr != nullptr) data_.append(s.ptr, s.len);
        return c;
    }
    std::string_view view(const detail::Cell& c) const noexcept {
        return std::string_view(data_.data() + c.off, c.len);
    }

    std::string data_;
    std::vector<detail::Cell> columns_;
    std::vector<detail::Cell> cells_;  // row-major
    std::size_t nrows_ = 0;
};

inline std::string_view Field::text() const noexcept {
    return cell_->null ? std::string_view() : rows_->view(*cell_);
}
inline std::string_view Field::column() const noexcept { return rows_->column_name(col_); }

inline std::size_t Row::size() const noexcept { return rows_->columns(); }
inline Field Row::operator[](std::size_t col) const noexcept {
    return Field(rows_, col, &rows_->cells_[index_ * rows_->columns() + col]);
}
inline Field Row::operator[](std::string_view column) const {
    const auto j = rows_->column_index(column);
    if (!j) throw DbError("no column \"" + std::string(column) + "\" in the result");
    return (*this)[*j];
}

/// A query's outcome: rows when ok(), otherwise a status and a message.
class DbResult {
public:
    DbResult() = default;

    /// Copies a host result (call only during the host's callback).
    static DbResult from(const qv_db_result_t& r) {
        DbResult d;
        d.status_ = status_of(r.status);
        if (d.status_ == DbStatus::kOk) {
            d.rows_ = Rows(r);
            d.affected_ = r.affected;
        } else {
            if (r.error.ptr != nullptr) d.error_.assign(r.error.ptr, r.error.len);
            if (d.error_.empty()) d.error_ = std::string(to_string(d.status_));
            if (r.sqlstate.ptr != nullptr) d.sqlstate_.assign(r.sqlstate.ptr, r.sqlstate.len);
        }
        return d;
    }
    /// The result of a call refused at once with QV_E* code `rc`.
    static DbResult from_code(int rc, std::string_view call) {
        DbStatus s = DbStatus::kError;
        std::string_view why = "invalid argument";
        switch (rc) {
            case QV_ENOTSUP: s = DbStatus::kNotSupported, why = "no database configured"; break;
            case QV_EUNAVAIL: s = DbStatus::kUnavailable, why = "database unavailable"; break;
            case QV_ETIMEDOUT: s = DbStatus::kTimeout, why = "timed out"; break;
            case QV_ECANCELED: s = DbStatus::kCanceled, why = "canceled"; break;
            case QV_ENOMEM: why = "out of memory"; break;
            default: break;
        }
        return failure(s, std::string(call) + ": " + std::string(why));
    }
    static DbResult failure(DbStatus s, std::string message, std::string sqlstate = {}) {
        DbResult d;
        d.status_ = s;
        d.error_ = std::move(message);
        d.sqlstate_ = std::move(sqlstate);
        return d;
    }
    static DbStatus status_of(int qv_db_status) noexcept {
        switch (qv_db_status) {
            case QV_DB_OK: return DbStatus::kOk;
            case QV_DB_UNAVAILABLE: return DbStatus::kUnavailable;
            case QV_DB_TIMEOUT: return DbStatus::kTimeout;
            case QV_DB_CANCELED: return DbStatus::kCanceled;
            default: return DbStatus::kError;
        }
    }

    bool ok() const noexcept { return status_ == DbStatus::kOk; }
    explicit operator bool() const noexcept { return ok(); }
    DbStatus status() const noexcept { return status_; }
    /// The server's or the host's message ("" when ok()).
    std::string_view error() const noexcept { return error_; }
    /// The five-character SQLSTATE when the server gave one (e.g. "23505").
    std::string_view sqlstate() const noexcept { return sqlstate_; }
    /// Rows affected by INSERT/UPDATE/DELETE.
    std::uint64_t affected() const noexcept { return affected_; }

    const Rows& rows() const noexcept { return rows_; }
    const Rows& operator*() const noexcept { return rows_; }
    const Rows* operator->() const noexcept { return &rows_; }

private:
    DbStatus status_ = DbStatus::kOk;
    Rows rows_;
    std::uint64_t affected_ = 0;
    std::string error_;
    std::string sqlstate_;
};

}  // namespace quiver
