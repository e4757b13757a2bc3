// SPDX-License-Identifier: MIT
// RowSinks of the bench app (see db_sinks.hpp).
#include "db_sinks.hpp"

#include "agents.hpp"

namespace bench {

namespace {

std::string_view cell(const qv_db_result_t& r, int row, int col) noexcept {
    const qv_str_t& v = r.values[static_cast<std::size_t>(row) * static_cast<std::size_t>(r.ncols) +
                                 static_cast<std::size_t>(col)];
    return std::string_view(v.ptr != nullptr ? v.ptr : "", v.len);
}

bool is_null(const qv_db_result_t& r, int row, int col) noexcept {
    return r.values[static_cast<std::size_t>(row) * static_cast<std::size_t>(r.ncols) +
                    static_cast<std::size_t>(col)]
               .ptr == nullptr;
}

bool read_world(const qv_db_result_t& r, int row, World& w, const char*& why) noexcept {
    if (!parse_int32(cell(r, row, 0), w.id) || !parse_int32(cell(r, row, 1), w.random_number)) {
        why = "world row: id or randomnumber is not an integer";
        return false;
    }
    return true;
}

bool has_shape(const qv_db_result_t& r, int ncols, const char*& why) noexcept {
    if (r.ncols != ncols || (r.nrows > 0 && r.values == nullptr)) {
        why = "result has an unexpected shape";
        return false;
    }
    return true;
}

}  // namespace

bool sink_world(DbBatch& b, std::size_t index, const qv_db_result_t& r, const char*& why) {
    if (!has_shape(r, 2, why)) return false;
    if (r.nrows != 1) {
        why = r.nrows == 0 ? "no world row with that id" : "more than one world row for an id";
        return false;
    }
    return read_world(r, 0, b.worlds[index], why);
}

bool sink_worlds(DbBatch& b, std::size_t, const qv_db_result_t& r, const char*& why) {
    if (!has_shape(r, 2, why)) return false;
    for (int row = 0; row < r.nrows; ++row) {
        World w{};
        if (!read_world(r, row, w, why)) return false;
        b.fetched.push_back(w);
    }
    return true;
}

bool sink_fortunes(DbBatch& b, std::size_t, const qv_db_result_t& r, const char*& why) {
    if (!has_shape(r, 2, why)) return false;
    std::size_t bytes = 0;
    for (int row = 0; row < r.nrows; ++row) bytes += cell(r, row, 1).size();
    b.text.clear();
    b.text.reserve(bytes);  // the views below stay valid: no reallocation after this
    b.fortunes.clear();
    for (int row = 0; row < r.nrows; ++row) {
        Fortune f{};
        if (!parse_int32(cell(r, row, 0), f.id) || is_null(r, row, 1)) {
            why = "fortune row: id is not an integer or message is NULL";
            return false;
        }
        const std::string_view m = cell(r, row, 1);
        const std::size_t at = b.text.size();
        b.text.append(m);
        f.message = std::string_view(b.text).substr(at, m.size());
        b.fortunes.push_back(f);
    }
    return true;
}

bool sink_agents(DbBatch& b, std::size_t, const qv_db_result_t& r, const char*& why) {
    b.text.clear();
    if (!append_agents(b.text, r)) {
        why = "agents: result has an unexpected shape";
        return false;
    }
    return true;
}

bool sink_command(DbBatch&, std::size_t, const qv_db_result_t&, const char*&) { return true; }

}  // namespace bench
