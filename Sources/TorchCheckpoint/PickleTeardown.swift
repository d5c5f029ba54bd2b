/// Nesting of decoded values, measured and torn down without recursion. A pickle can nest
/// containers as deep as it has bytes (`]` x 50,000 then `a` x 49,999 is 100 KB); Swift frees a
/// nested value recursively (a list's deinit releases its items, whose deinits release
/// theirs...), and at 50,000 levels that overflowed the 8 MB stack (issue #20).
enum PickleNesting {
    /// Deepest nesting accepted. Python's pickler recurses once per level and stops at its
    /// recursion limit (1,000 by default), so `torch.save` cannot write anything deeper;
    /// checkpoints nest 3 to 6 levels.
    static let limit = 1_000

    /// The longest chain of containers (tuple, list, dict, object) below `root`, counting
    /// `root`: 0 for a scalar or a tensor. Each container is measured once, so values shared
    /// through the memo cost nothing extra; a container met again inside itself (a cycle) is
    /// not followed. Throws as soon as the chain exceeds `limit`.
    static func depth(of root: PickleValue, limit: Int = PickleNesting.limit) throws(FormatError) -> Int {
        struct Frame {
            let key: UInt
            let children: [PickleValue]
            var next = 0
            var height = 0
        }
        var finished: [UInt: Int] = [:]
        var onPath: Set<UInt> = []
        var path: [Frame] = []
        var result = 0
        let tooDeep = FormatError("containers nested more than \(limit) levels deep (the limit: torch.save cannot write deeper than Python's recursion limit, 1000)")
        // A subtree of height `h` hangs below the current path: check the chain, tell the parent.
        func reached(_ h: Int) throws(FormatError) {
            guard path.count + h <= limit else { throw tooDeep }
            if let parent = path.indices.last { path[parent].height = max(path[parent].height, h) } else { result = h }
        }
        // Opens a frame for a container not measured yet (a cycle's way back in is not followed).
        func enter(_ value: PickleValue) throws(FormatError) {
            guard let (key, children) = value.identityAndChildren else { return try reached(0) }
            if let h = finished[key] { return try reached(h) }
            guard !onPath.contains(key) else { return }
            guard path.count < limit else { throw tooDeep }
            onPath.insert(key)
            path.append(Frame(key: key, children: children))
        }
        try enter(root)
        while let top = path.indices.last {
            if path[top].next < path[top].children.count {
                let child = path[top].children[path[top].next]
                path[top].next += 1
                try enter(child)
                continue
            }
            let frame = path.removeLast()
            onPath.remove(frame.key)
            finished[frame.key] = frame.height + 1
            try reached(frame.height + 1)
        }
        return result
    }

    /// Releases `values` without recursion: the children of every container whose last
    /// reference is dropped are moved to an explicit work list first, so each container is
    /// freed empty. Lists, dicts and objects call this from `deinit`, so dropping one is safe
    /// anywhere; tuples have no deinit, so the unpickler bounds how deep they nest in tuples.
    static func release(_ values: inout [PickleValue]) {
        guard values.contains(where: \.isContainer) else { return }
        var pending: [PickleValue] = []
        swap(&pending, &values)
        while var value = pending.popLast() {
            // Out of the enum first: a `switch` keeps its own copy of the subject until it ends,
            // so a container matched inside it is never uniquely referenced there.
            var list: PickleList?, dict: PickleDict?, object: PickleObject?, tuple: [PickleValue]?
            switch value {
            case .list(let l): list = l
            case .dict(let d): dict = d
            case .object(let o): object = o
            case .tuple(let t): tuple = t
            default: continue
            }
            value = .none
            if isKnownUniquelyReferenced(&list), let list {
                pending += list.items
                list.items = []
            } else if isKnownUniquelyReferenced(&dict), let dict {
                dict.moveContents(to: &pending)
            } else if isKnownUniquelyReferenced(&object), let object {
                object.moveContents(to: &pending)
            } else if tuple != nil {
                // Arrays have no public uniqueness test: asking for a mutable buffer copies a
                // shared one, so an unchanged address means this was the last reference.
                let before = tuple!.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
                let after = tuple!.withUnsafeMutableBufferPointer { UInt(bitPattern: $0.baseAddress) }
                if before == after { pending += tuple! }
            }
        }
    }
}

extension PickleValue {
    var isContainer: Bool {
        switch self {
        case .list, .dict, .object, .tuple: true
        default: false
        }
    }

    /// For containers: an identity (the object, or a tuple's element buffer) and the values
    /// they hold; nil for scalars, strings, tensors and storages.
    var identityAndChildren: (UInt, [PickleValue])? {
        switch self {
        case .list(let l): (UInt(bitPattern: ObjectIdentifier(l)), l.items)
        case .dict(let d): (UInt(bitPattern: ObjectIdentifier(d)), d.keys + d.values + (d.attributes.map { [$0] } ?? []))
        case .object(let o): (UInt(bitPattern: ObjectIdentifier(o)), o.arguments + (o.state.map { [$0] } ?? []))
        case .tuple(let items): (items.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }, items)
        default: nil
        }
    }
}
