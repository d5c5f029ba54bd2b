import XCTest
final class PrepTestsSmoke: XCTestCase { func testNothing() {} }
