import XCTest
final class FeatureStoreTestsSmoke: XCTestCase { func testNothing() {} }
