// The labelling rule of `gridfold prepare gtf-windows`: one class digit per base of a
// chromosome, in genome (+ strand) orientation.
//   '1' exon start: the exon's first base in the direction of transcription, so the GTF start
//       of a + strand exon and the GTF end of a - strand exon;
//   '2' exon end: its last base in the direction of transcription (GTF end on +, start on -);
//   '0' every other base.
// Class 1 thus always marks the base after an intron's acceptor site (or a transcription
// start), class 2 the base before a donor site (or a transcript's end), on either strand. A
// base that is both a start and an end (a 1-base exon, or transcripts that disagree) is
// labelled a start.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "orchestrator/prepare/gtf.hpp"

namespace gridfold {

constexpr char kOtherBase = '0';
constexpr char kExonStart = '1';
constexpr char kExonEnd = '2';

// The labels of a chromosome of `length` bases; every exon must lie within it (GTF end <= length).
std::string exon_boundary_labels(std::uint64_t length, std::span<const GtfExon> exons);

}  // namespace gridfold
