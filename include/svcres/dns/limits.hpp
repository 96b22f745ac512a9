#pragma once
// Protocol limits of the DNS wire codec, each with the RFC that sets it. Every check in the codec
// compares against one of these names, never against a bare number.

#include <cstddef>
#include <cstdint>

namespace svcres::dns {

// RFC 1035 §4.1.1: the fixed header.
inline constexpr std::size_t header_size = 12;
// RFC 1035 §2.3.4: a label is 1-63 bytes; a name is at most 255 bytes in (uncompressed) wire form,
// length bytes and the root byte included.
inline constexpr std::size_t max_label = 63;
inline constexpr std::size_t max_name_wire = 255;
// A name of max_name_wire bytes has at most 127 labels; a writer compresses at most once per label,
// so no well-formed message needs more hops than that. The cap bounds the work per name in a
// hostile message (pointer chains without labels) to a constant.
inline constexpr unsigned max_pointer_hops = 127;
// RFC 1035 §4.1.4: a pointer holds a 14-bit offset.
inline constexpr std::size_t max_pointer_offset = 0x3fff;
// RFC 7766 §8 / RFC 1035 §4.2.2: a message is at most 65535 bytes (TCP length prefix).
inline constexpr std::size_t max_message_size = 65535;
// RFC 1035 §2.3.4: UDP messages without EDNS.
inline constexpr std::size_t classic_udp_size = 512;
// The DNS Flag Day 2020 payload size: avoids IP fragmentation on common paths (RFC 6891 §6.2.5).
inline constexpr std::uint16_t default_edns_payload = 1232;
// Minimum wire sizes used to check section counts against the bytes left (RFC 1035 §4.1.2, §4.1.3):
// a question is a root name (1) + type + class; a record a root name (1) + type, class, TTL, rdlength.
inline constexpr std::size_t min_question_size = 5;
inline constexpr std::size_t min_record_size = 11;
// Bytes after the owner name in a resource record: type, class, TTL, rdlength.
inline constexpr std::size_t record_fixed_size = 10;
// Presentation form: every wire byte at most 4 characters (\DDD) plus a dot per label and a NUL.
inline constexpr std::size_t max_name_text = 1024;

}  // namespace svcres::dns
