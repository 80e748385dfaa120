/// How to reorder a compiled answer per query: the weighted rotation inside each tier of DESIGN.md section 3,
/// and `maxAnswers` applied after it. Plain integers in flat arrays, so a query reads them without reference
/// counting.
///
/// Every record of an address answer has the same size (its owner is a two-octet pointer to the question),
/// so rotating a tier is rotating a byte range by a whole number of records: no parsing, no allocation.
struct RotationPlans: Sendable {
    struct Plan: Sendable {
        var recordSize: Int32
        var recordCount: Int32
        /// Records kept after rotation; 0 keeps all.
        var maxAnswers: Int32
        var firstTier: Int32
        var tierCount: Int32
    }

    struct Tier: Sendable {
        var firstRecord: Int32
        var recordCount: Int32
        var firstUnit: Int32
        var unitCount: Int32
        var totalWeight: UInt32
    }

    struct Unit: Sendable {
        var recordCount: Int32
        /// The sum of the weights of this unit and those before it in its tier.
        var cumulativeWeight: UInt32
    }

    private(set) var plans: [Plan] = []
    private(set) var tiers: [Tier] = []
    private(set) var units: [Unit] = []

    /// Adds the plan for an answer of `recordCount` records of `recordSize` octets; returns its index.
    mutating func add(
        _ answer: OrderedAnswer, recordSize: Int, maxAnswers: Int
    ) -> Int32 {
        var plan = Plan(
            recordSize: Int32(recordSize), recordCount: Int32(answer.records.count), maxAnswers: Int32(maxAnswers),
            firstTier: Int32(tiers.count), tierCount: 0)
        var record = 0
        for tierUnits in answer.tiers {
            let count = tierUnits.reduce(0) { $0 + $1.recordCount }
            defer { record += count }
            // A tier of one export never moves: leave it out so a query only visits tiers that rotate.
            guard tierUnits.count > 1 else { continue }
            var cumulative: UInt32 = 0
            let firstUnit = units.count
            for unit in tierUnits {
                // A weight of 0 is refused by the registry; treat it as 1 anyway so every unit can lead.
                cumulative += max(1, unit.weight)
                units.append(Unit(recordCount: Int32(unit.recordCount), cumulativeWeight: cumulative))
            }
            tiers.append(
                Tier(
                    firstRecord: Int32(record), recordCount: Int32(count), firstUnit: Int32(firstUnit),
                    unitCount: Int32(tierUnits.count), totalWeight: cumulative))
            plan.tierCount += 1
        }
        plans.append(plan)
        return Int32(plans.count - 1)
    }

    /// Adds plan `index` of `other` (a previous snapshot's) with its tiers and units.
    mutating func copy(_ index: Int32, from other: RotationPlans) -> Int32 {
        var plan = other.plans[Int(index)]
        let firstTier = Int(plan.firstTier)
        plan.firstTier = Int32(tiers.count)
        for tierIndex in firstTier..<(firstTier + Int(plan.tierCount)) {
            var tier = other.tiers[tierIndex]
            let firstUnit = Int(tier.firstUnit)
            tier.firstUnit = Int32(units.count)
            units += other.units[firstUnit..<(firstUnit + Int(tier.unitCount))]
            tiers.append(tier)
        }
        plans.append(plan)
        return Int32(plans.count - 1)
    }

    /// Appends every plan of `other` (compiled on another thread), plan `i` of it becoming plan
    /// `plans.count + i` of this.
    mutating func append(contentsOf other: RotationPlans) {
        let firstTier = Int32(tiers.count)
        let firstUnit = Int32(units.count)
        plans += other.plans.map {
            var plan = $0
            plan.firstTier += firstTier
            return plan
        }
        tiers += other.tiers.map {
            var tier = $0
            tier.firstUnit += firstUnit
            return tier
        }
        units += other.units
    }

    /// Reorders the answer section at `out` (a fresh copy of `answers`, the template's) by plan `index`: a
    /// rotated tier is written back from the template in two block copies, leader first, so nothing needs a
    /// scratch buffer. `entropy` is called once per tier that has more than one unit.
    @inline(__always)
    func rotate(
        _ index: Int, answers: UnsafeRawPointer, into out: UnsafeMutableRawPointer, entropy: RotationEntropy
    ) {
        let plan = plans[index]
        let size = Int(plan.recordSize)
        for tierIndex in Int(plan.firstTier)..<Int(plan.firstTier + plan.tierCount) {
            let tier = tiers[tierIndex]
            let pick = UInt32(truncatingIfNeeded: entropy.next() % UInt64(tier.totalWeight))
            var leaderRecord = 0
            for unitIndex in Int(tier.firstUnit)..<Int(tier.firstUnit + tier.unitCount) {
                if pick < units[unitIndex].cumulativeWeight { break }
                leaderRecord += Int(units[unitIndex].recordCount)
            }
            guard leaderRecord > 0 else { continue }
            let start = Int(tier.firstRecord) * size
            let lead = start + leaderRecord * size
            let end = start + Int(tier.recordCount) * size
            (out + start).copyMemory(from: answers + lead, byteCount: end - lead)
            (out + start + (end - lead)).copyMemory(from: answers + start, byteCount: lead - start)
        }
    }

    /// Applies `maxAnswers` after the rotation: keeps the first records and fixes ANCOUNT. Address answers
    /// have nothing after their answer section, so cutting the tail cuts records only.
    func limit(_ index: Int, response: inout [UInt8]) {
        let plan = plans[index]
        guard plan.maxAnswers > 0 && plan.recordCount > plan.maxAnswers else { return }
        response.removeLast(Int(plan.recordCount - plan.maxAnswers) * Int(plan.recordSize))
        response[6] = UInt8(plan.maxAnswers >> 8)
        response[7] = UInt8(truncatingIfNeeded: plan.maxAnswers)
    }
}

/// SplitMix64's output function: turns a counter into well-mixed bits, so consecutive queries rotate
/// independently and a fixed seed repeats exactly (tests rely on it).
@inline(__always)
func splitMix64(_ value: UInt64) -> UInt64 {
    var z = value &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}
