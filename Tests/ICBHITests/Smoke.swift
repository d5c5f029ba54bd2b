import XCTest
final class ICBHITestsSmoke: XCTestCase { func testNothing() {} }
