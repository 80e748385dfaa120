import DNSWire

/// Precompiled orderings of one answer and how likely each is: the weighted rotation of DESIGN.md section 3
/// decided per query by one draw and a short scan, with every ordering already compiled to bytes. Used when
/// the orderings are few (each rotating tier multiplies their number); larger answers rotate per query
/// instead (`RotationPlans`).
struct ChoiceTable: Sendable {
    struct Group: Sendable {
        var first: Int32
        var count: Int32
        var total: UInt64
    }

    /// Up to this many precompiled orderings per answer and locality.
    static let maxOrderings = 16

    private(set) var groups: [Group] = []
    private var cumulative: [UInt64] = []
    private var templates: [Int32] = []

    /// Adds the orderings of one answer, each a template and a weight; returns the group's index.
    mutating func add(_ options: [(template: Int32, weight: UInt64)]) -> Int32 {
        var total: UInt64 = 0
        groups.append(Group(first: Int32(templates.count), count: Int32(options.count), total: 0))
        for option in options {
            total += option.weight
            cumulative.append(total)
            templates.append(option.template)
        }
        groups[groups.count - 1].total = total
        return Int32(groups.count - 1)
    }

    /// Appends every group of `other` (compiled on another thread), group `i` of it becoming group
    /// `groups.count + i` of this; its templates are `templateOffset` further on here.
    mutating func append(contentsOf other: ChoiceTable, templateOffset: Int32) {
        let first = Int32(templates.count)
        groups += other.groups.map { Group(first: $0.first + first, count: $0.count, total: $0.total) }
        cumulative += other.cumulative
        templates += other.templates.map { $0 + templateOffset }
    }

    /// The options of group `index`: templates and weights, as `add` took them.
    func options(_ index: Int32) -> [(template: Int32, weight: UInt64)] {
        let group = groups[Int(index)]
        var previous: UInt64 = 0
        var options: [(template: Int32, weight: UInt64)] = []
        for offset in Int(group.first)..<Int(group.first + group.count) {
            options.append((templates[offset], cumulative[offset] - previous))
            previous = cumulative[offset]
        }
        return options
    }

    /// The template of group `index` that `bits` (uniform random) selects, each with its weight's share.
    @inline(__always)
    func pick(_ index: Int, bits: UInt64) -> Int32 {
        let group = groups[index]
        let draw = bits % group.total
        let first = Int(group.first)
        for offset in first..<(first + Int(group.count) - 1) where draw < cumulative[offset] {
            return templates[offset]
        }
        return templates[first + Int(group.count) - 1]
    }
}

extension OrderedAnswer {
    /// Every ordering the weighted rotation can produce — one leader per rotating tier, the rest of the tier
    /// following in cyclic order — with its weight: the product of the leaders' weights, since tiers rotate
    /// independently. Nil when there would be more than `limit`, or the weights would overflow.
    func orderings(limit: Int) -> [(records: [ResourceRecord], weight: UInt64)]? {
        var combinations = 1
        for tier in tiers where tier.count > 1 {
            combinations *= tier.count
            if combinations > limit { return nil }
        }
        // The records of each unit, tier by tier.
        var unitRecords: [[[ResourceRecord]]] = []
        var position = 0
        for tier in tiers {
            unitRecords.append(
                tier.map { unit in
                    defer { position += unit.recordCount }
                    return Array(records[position..<(position + unit.recordCount)])
                })
        }
        var result: [(records: [ResourceRecord], weight: UInt64)] = [([], 1)]
        for (tierIndex, tier) in tiers.enumerated() {
            var next: [(records: [ResourceRecord], weight: UInt64)] = []
            for partial in result {
                for leader in 0..<(tier.count > 1 ? tier.count : 1) {
                    let order = Array(unitRecords[tierIndex][leader...] + unitRecords[tierIndex][..<leader])
                    var weight = partial.weight
                    if tier.count > 1 {
                        let (product, overflow) = weight.multipliedReportingOverflow(
                            by: UInt64(max(1, tier[leader].weight)))
                        if overflow || product > UInt64(1) << 60 { return nil }
                        weight = product
                    }
                    next.append((partial.records + order.flatMap { $0 }, weight))
                }
            }
            result = next
        }
        return result
    }
}
