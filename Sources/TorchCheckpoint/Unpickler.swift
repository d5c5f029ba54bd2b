/// A pickle virtual machine (protocols 0-4, the opcodes `torch.save` and libtorch's pickler
/// write and those around them) that never runs Python: `GLOBAL`s stay names, PyTorch's
/// tensor-rebuilding functions become `TensorInfo`, `collections.OrderedDict` becomes a
/// `PickleDict`, and any other class becomes an opaque `PickleObject`. Every read is bounds
/// checked; malformed input throws, it never traps.
struct Unpickler {
    let bytes: UnsafeRawBufferPointer
    /// Where the next pickle starts (legacy files hold several in a row).
    private(set) var position: Int
    private let persistentLoad: (PickleValue) throws(FormatError) -> PickleValue

    init(bytes: UnsafeRawBufferPointer, position: Int = 0,
         persistentLoad: @escaping (PickleValue) throws(FormatError) -> PickleValue) {
        self.bytes = bytes
        self.position = position
        self.persistentLoad = persistentLoad
    }

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Height of every tuple built (1 + its tallest tuple child), by element buffer.
    private var tupleHeights: [UInt: Int] = [:]

    /// Runs the VM from `position` to the next STOP and returns the pickled object.
    mutating func load() throws(FormatError) -> PickleValue {
        stack = []
        marks = []
        memo = [:]
        tupleHeights = [:]
        while true {
            let at = position
            guard at < bytes.count else { throw FormatError("pickle: data ends before STOP (truncated)") }
            let op = try byte()
            let result: PickleValue?
            do {
                result = try step(op)
            } catch {
                throw FormatError("pickle: \(error.message) (opcode 0x\(String(op, radix: 16)) at byte \(at))")
            }
            if let result {
                // Nothing nested deeper than Python's pickler writes reaches the code that walks values.
                do { _ = try PickleNesting.depth(of: result) } catch { throw FormatError("pickle: \(error.message)") }
                return result
            }
        }
    }

    // MARK: reading

    private mutating func byte() throws(FormatError) -> UInt8 {
        guard position < bytes.count else { throw FormatError("data ends before STOP (truncated)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ n: Int) throws(FormatError) -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else {
            throw FormatError("needs \(n) bytes, \(bytes.count - position) left (truncated)")
        }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    private mutating func uint(_ n: Int) throws(FormatError) -> UInt64 {
        let b = try take(n)
        var v: UInt64 = 0
        for i in (0..<n).reversed() { v = v << 8 | UInt64(b[i]) }
        return v
    }

    private mutating func length(_ n: Int) throws(FormatError) -> Int {
        let v = try uint(n)
        guard v <= UInt64(bytes.count - position) else { throw FormatError("length \(v) exceeds the data left (truncated)") }
        return Int(v)
    }

    private mutating func line() throws(FormatError) -> String {
        var end = position
        while end < bytes.count && bytes[end] != 0x0A { end += 1 }
        guard end < bytes.count else { throw FormatError("unterminated text argument (truncated)") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return s
    }

    private mutating func text(_ n: Int) throws(FormatError) -> String {
        String(decoding: try take(n), as: UTF8.self)
    }

    // MARK: stack

    private mutating func pop() throws(FormatError) -> PickleValue {
        guard let v = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw FormatError("stack underflow") }
        return v
    }

    private func top() throws(FormatError) -> PickleValue {
        guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw FormatError("stack underflow") }
        return v
    }

    private mutating func popMark() throws(FormatError) -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw FormatError("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    /// A tuple, refused when tuples nest in tuples more than `PickleNesting.limit` deep. Lists,
    /// dicts and objects free their contents without recursion (`PickleNesting.release`), but a
    /// chain of tuples is freed by Swift's runtime, one call per level: this bound keeps that
    /// short wherever the value is dropped, also while the pickle is being refused. Tuples are
    /// immutable, so a height measured at creation stays exact.
    private mutating func tuple(_ items: [PickleValue]) throws(FormatError) -> PickleValue {
        var height = 1
        for case .tuple(let child) in items {
            height = max(height, 1 + (tupleHeights[Self.address(of: child)] ?? 1))
        }
        guard height <= PickleNesting.limit else {
            throw FormatError("tuples nested more than \(PickleNesting.limit) levels deep (the limit: torch.save cannot write deeper than Python's recursion limit, 1000)")
        }
        // A buffer address may be reused after its tuple is freed: the newest tuple's entry wins.
        tupleHeights[Self.address(of: items)] = height
        return .tuple(items)
    }

    private static func address(of items: [PickleValue]) -> UInt {
        items.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }

    private mutating func memoGet(_ i: Int) throws(FormatError) {
        guard let v = memo[i] else { throw FormatError("memo entry \(i) was never stored") }
        stack.append(v)
    }

    // MARK: opcodes

    /// Executes one opcode; returns the result at STOP.
    private mutating func step(_ op: UInt8) throws(FormatError) -> PickleValue? {
        switch op {
        case 0x80: _ = try byte()                                   // PROTO
        case 0x95: _ = try take(8)                                  // FRAME
        case 0x2E: return try pop()                                 // STOP
        case 0x28: marks.append(stack.count)                        // MARK
        case 0x30: _ = try pop()                                    // POP
        case 0x31: _ = try popMark()                                // POP_MARK
        case 0x32: stack.append(try top())                          // DUP
        case 0x4E: stack.append(.none)                              // NONE
        case 0x88: stack.append(.bool(true))                        // NEWTRUE
        case 0x89: stack.append(.bool(false))                       // NEWFALSE
        case 0x4A: stack.append(.int(Int64(Int32(bitPattern: UInt32(try uint(4))))))   // BININT
        case 0x4B: stack.append(.int(Int64(try byte())))            // BININT1
        case 0x4D: stack.append(.int(Int64(try uint(2))))           // BININT2
        case 0x8A: stack.append(Self.long(try take(try length(1)))) // LONG1
        case 0x8B: stack.append(Self.long(try take(try length(4)))) // LONG4
        case 0x49:                                                  // INT
            let s = try line()
            if s == "01" || s == "00" { stack.append(.bool(s == "01")) } else { stack.append(try Self.decimal(s)) }
        case 0x4C: stack.append(try Self.decimal(String(try line().dropLast(while: { $0 == "L" }))))  // LONG
        case 0x47: stack.append(.float(Double(bitPattern: (try take(8)).reduce(0) { $0 << 8 | UInt64($1) })))  // BINFLOAT (big-endian)
        case 0x46:                                                  // FLOAT
            let s = try line()
            guard let d = Double(s) else { throw FormatError("bad float literal \(s)") }
            stack.append(.float(d))
        case 0x58: stack.append(.string(try text(try length(4))))   // BINUNICODE
        case 0x8C: stack.append(.string(try text(try length(1))))   // SHORT_BINUNICODE
        case 0x8D: stack.append(.string(try text(try length(8))))   // BINUNICODE8
        case 0x56: stack.append(.string(try line()))                // UNICODE (raw-unicode-escape; ASCII taken as is)
        case 0x54: stack.append(.string(try text(try length(4))))   // BINSTRING
        case 0x55: stack.append(.string(try text(try length(1))))   // SHORT_BINSTRING
        case 0x53:                                                  // STRING (quoted)
            var s = try line()
            if s.count >= 2, let q = s.first, q == "'" || q == "\"", s.last == q { s = String(s.dropFirst().dropLast()) }
            stack.append(.string(s))
        case 0x42: stack.append(.bytes(Array(try take(try length(4)))))  // BINBYTES
        case 0x43: stack.append(.bytes(Array(try take(try length(1)))))  // SHORT_BINBYTES
        case 0x8E: stack.append(.bytes(Array(try take(try length(8)))))  // BINBYTES8
        case 0x7D: stack.append(.dict(PickleDict()))                // EMPTY_DICT
        case 0x64: stack.append(.dict(try Self.dict(try popMark())))  // DICT
        case 0x5D: stack.append(.list(PickleList()))                // EMPTY_LIST
        case 0x6C:                                                  // LIST
            let l = PickleList()
            l.items = try popMark()
            stack.append(.list(l))
        case 0x29: stack.append(try tuple([]))                      // EMPTY_TUPLE
        case 0x74: stack.append(try tuple(try popMark()))           // TUPLE
        case 0x85: stack.append(try tuple([try pop()]))             // TUPLE1
        case 0x86:                                                  // TUPLE2
            let b = try pop(), a = try pop()
            stack.append(try tuple([a, b]))
        case 0x87:                                                  // TUPLE3
            let c = try pop(), b = try pop(), a = try pop()
            stack.append(try tuple([a, b, c]))
        case 0x8F: stack.append(.list(PickleList()))                // EMPTY_SET (kept as a list)
        case 0x90, 0x65:                                            // ADDITEMS, APPENDS
            let items = try popMark()
            guard case .list(let l) = try top() else { throw FormatError("APPENDS/ADDITEMS on a \(try top().kind)") }
            l.items += items
        case 0x91:                                                  // FROZENSET
            let l = PickleList()
            l.items = try popMark()
            stack.append(.list(l))
        case 0x61:                                                  // APPEND
            let v = try pop()
            guard case .list(let l) = try top() else { throw FormatError("APPEND on a \(try top().kind)") }
            l.items.append(v)
        case 0x73:                                                  // SETITEM
            let v = try pop(), k = try pop()
            guard case .dict(let d) = try top() else { throw FormatError("SETITEM on a \(try top().kind)") }
            d.set(k, v)
        case 0x75:                                                  // SETITEMS
            let items = try popMark()
            guard items.count % 2 == 0 else { throw FormatError("SETITEMS with an odd number of items") }
            guard case .dict(let d) = try top() else { throw FormatError("SETITEMS on a \(try top().kind)") }
            for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
        case 0x71: memo[Int(try uint(1))] = try top()               // BINPUT
        case 0x72: memo[Int(try uint(4))] = try top()               // LONG_BINPUT
        case 0x70: memo[try Self.index(try line())] = try top()     // PUT
        case 0x94: memo[memo.count] = try top()                     // MEMOIZE
        case 0x68: try memoGet(Int(try uint(1)))                    // BINGET
        case 0x6A: try memoGet(Int(try uint(4)))                    // LONG_BINGET
        case 0x67: try memoGet(try Self.index(try line()))          // GET
        case 0x63:                                                  // GLOBAL
            let module = try line(), name = try line()
            stack.append(.global(module: module, name: name))
        case 0x93:                                                  // STACK_GLOBAL
            let name = try pop(), module = try pop()
            guard let m = module.string, let n = name.string else { throw FormatError("STACK_GLOBAL needs two strings") }
            stack.append(.global(module: m, name: n))
        case 0x52:                                                  // REDUCE
            let args = try pop(), callable = try pop()
            guard case .tuple(let a) = args else { throw FormatError("REDUCE arguments are a \(args.kind), not a tuple") }
            stack.append(try Self.call(callable, a))
        case 0x81:                                                  // NEWOBJ
            let args = try pop(), cls = try pop()
            guard case .tuple(let a) = args else { throw FormatError("NEWOBJ arguments are a \(args.kind), not a tuple") }
            stack.append(try Self.call(cls, a))
        case 0x92:                                                  // NEWOBJ_EX
            _ = try pop()
            let args = try pop(), cls = try pop()
            guard case .tuple(let a) = args else { throw FormatError("NEWOBJ_EX arguments are a \(args.kind), not a tuple") }
            stack.append(try Self.call(cls, a))
        case 0x69:                                                  // INST
            let module = try line(), name = try line()
            stack.append(try Self.call(.global(module: module, name: name), try popMark()))
        case 0x6F:                                                  // OBJ
            let items = try popMark()
            guard let cls = items.first else { throw FormatError("OBJ without a class") }
            stack.append(try Self.call(cls, Array(items.dropFirst())))
        case 0x62:                                                  // BUILD
            let state = try pop()
            switch try top() {
            case .dict(let d): d.attributes = state
            case .object(let o): o.state = state
            default: break   // tensors and others: state is not needed
            }
        case 0x51: stack.append(try persistentLoad(try pop()))      // BINPERSID
        case 0x50: stack.append(try persistentLoad(.string(try line())))  // PERSID
        default:
            throw FormatError("unsupported opcode")
        }
        return nil
    }

    private static func long(_ b: UnsafeRawBufferPointer) -> PickleValue {
        if b.isEmpty { return .int(0) }
        if b.count > 8 { return .bigInt(Array(b)) }
        var v: UInt64 = 0
        for i in (0..<b.count).reversed() { v = v << 8 | UInt64(b[i]) }
        let shift = UInt64(64 - 8 * b.count)
        return .int(Int64(bitPattern: v << shift) >> Int64(shift))   // sign-extend
    }

    private static func decimal(_ s: String) throws(FormatError) -> PickleValue {
        guard let v = Int64(s.trimmingSpaces) else { throw FormatError("bad integer literal \(s)") }
        return .int(v)
    }

    private static func index(_ s: String) throws(FormatError) -> Int {
        guard let v = Int(s.trimmingSpaces), v >= 0 else { throw FormatError("bad memo index \(s)") }
        return v
    }

    private static func dict(_ items: [PickleValue]) throws(FormatError) -> PickleDict {
        guard items.count % 2 == 0 else { throw FormatError("DICT with an odd number of items") }
        let d = PickleDict()
        for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
        return d
    }

    /// REDUCE / NEWOBJ: PyTorch's rebuild functions and OrderedDict are interpreted, the rest
    /// becomes an opaque record.
    private static func call(_ callable: PickleValue, _ args: [PickleValue]) throws(FormatError) -> PickleValue {
        var callable = callable, args = args
        // A loop, not recursion: `_rebuild_from_type_v2` wraps another call, as deep as the pickle nests it.
        while true {
            guard case .global(let module, let name) = callable else {
                throw FormatError("cannot call a \(callable.kind)")
            }
            switch (module, name) {
            case ("collections", "OrderedDict"):
                let d = PickleDict(className: "collections.OrderedDict")
                if case .list(let pairs)? = args.first {
                    for case .tuple(let kv) in pairs.items where kv.count == 2 { d.set(kv[0], kv[1]) }
                }
                return .dict(d)
            case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
                return .tensor(try tensor(args))
            case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
                guard case .tensor? = args.first else { throw FormatError("\(name) without a tensor") }
                return args[0]
            case ("torch.jit._pickle", "restore_type_tag"), ("torch.jit._pickle", "build_intlist"),
                 ("torch.jit._pickle", "build_doublelist"), ("torch.jit._pickle", "build_boollist"),
                 ("torch.jit._pickle", "build_tensorlist"):
                // libtorch's pickler (torch::pickle_save) wraps typed containers: the value is the first argument.
                guard let value = args.first else { throw FormatError("\(name) without arguments") }
                return value
            case ("torch._tensor", "_rebuild_from_type_v2"), ("torch._tensor", "_rebuild_from_type"):
                guard args.count >= 3, case .tuple(let inner) = args[2] else { throw FormatError("\(name): bad arguments") }
                (callable, args) = (args[0], inner)
            default:
                return .object(PickleObject(className: "\(module).\(name)", arguments: args))
            }
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, ...)`, checked against the storage.
    private static func tensor(_ args: [PickleValue]) throws(FormatError) -> TensorInfo {
        guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
              case .tuple(let size) = args[2], case .tuple(let stride) = args[3] else {
            throw FormatError("_rebuild_tensor_v2: unexpected arguments (\(args.map(\.kind).joined(separator: ", ")))")
        }
        let shape = size.compactMap(\.int), strides = stride.compactMap(\.int)
        guard shape.count == size.count, strides.count == stride.count, shape.count == strides.count,
              offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }), shape.count <= 16 else {
            throw FormatError("_rebuild_tensor_v2: bad size \(shape), stride \(strides) or offset \(offset)")
        }
        let info = TensorInfo(storage: storage, offset: Int(offset), shape: shape.map { Int($0) }, strides: strides.map { Int($0) })
        // The last element the view reaches must lie inside the storage.
        var count = 1, last = Int(offset)
        for (n, s) in zip(info.shape, info.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: n)
            let (reach, o2) = (n == 0 ? 0 : n - 1).multipliedReportingOverflow(by: s)
            let (l, o3) = last.addingReportingOverflow(reach)
            guard !o1 && !o2 && !o3 else { throw FormatError("_rebuild_tensor_v2: size \(info.shape) overflows") }
            count = c
            last = l
        }
        guard count == 0 || last < storage.count else {
            throw FormatError("tensor of size \(info.shape), stride \(info.strides), offset \(offset) reaches past its storage \(storage.key) of \(storage.count) elements")
        }
        return info
    }
}

extension String {
    var trimmingSpaces: Substring {
        let s = drop { $0 == " " }
        return s.dropLast { $0 == " " || $0 == "\r" }
    }
}

extension Substring {
    func dropLast(while predicate: (Character) -> Bool) -> Substring {
        var s = self
        while let c = s.last, predicate(c) { s = s.dropLast() }
        return s
    }
}

extension String {
    func dropLast(while predicate: (Character) -> Bool) -> Substring { Substring(self).dropLast(while: predicate) }
}
